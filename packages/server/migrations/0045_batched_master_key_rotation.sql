-- Master-key rotation of many tenants in batches: one statement reads, rewraps or audits a whole
-- batch, yet every row is still read and written inside its own tenant's context. All but the first
-- (ids only, SECURITY DEFINER) are SECURITY INVOKER: they run as the app role, set `app.tenant_id` to each tenant in turn
-- (transaction-local, as withTenant does) and name `tenant_id` in every statement, so RLS applies
-- to each tenant's rows exactly as in a tenant transaction. Only ids cross tenants. Each ends by
-- clearing `app.tenant_id`, so none may be called inside a tenant transaction (it would fail
-- closed: the rest of that transaction would see no rows).

-- Which scopes hold a data key not wrapped by `current_kek` (ids only; NULL = platform).
CREATE FUNCTION keyhold_key_scopes_not_under(current_kek text) RETURNS TABLE (tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT DISTINCT tenant_id FROM tenant_keys WHERE kek_id <> current_kek ORDER BY 1 NULLS FIRST $$;

-- The data keys of these tenants, each tenant's read under its own RLS context.
CREATE FUNCTION keyhold_data_keys_of(tenant_ids uuid[])
  RETURNS TABLE (tenant_id uuid, version integer, kek_id text, wrapped_dek text)
  LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
DECLARE t uuid;
BEGIN
  FOREACH t IN ARRAY tenant_ids LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    RETURN QUERY SELECT k.tenant_id, k.version, k.kek_id, k.wrapped_dek FROM tenant_keys k WHERE k.tenant_id = t
      -- Version order: the rewrite locks rows in the order read, as retire() does, so they never deadlock.
      ORDER BY k.version;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$;

-- Replaces wrappings, each only while it is still exactly the one read (`from_wrapped`): a
-- wrapping changed meanwhile (another rotation) is left alone. Returns what it replaced.
CREATE FUNCTION keyhold_rewrap_data_keys(tenant_ids uuid[], versions integer[], from_wrapped text[], to_wrapped text[], to_kek text)
  RETURNS TABLE (tenant_id uuid, version integer)
  LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
DECLARE i integer;
BEGIN
  FOR i IN 1 .. coalesce(array_length(tenant_ids, 1), 0) LOOP
    PERFORM set_config('app.tenant_id', tenant_ids[i]::text, true);
    RETURN QUERY
      WITH changed AS (
        UPDATE tenant_keys k SET wrapped_dek = to_wrapped[i], kek_id = to_kek
         WHERE k.tenant_id = tenant_ids[i] AND k.version = versions[i] AND k.wrapped_dek = from_wrapped[i]
        RETURNING k.tenant_id, k.version
      )
      SELECT c.tenant_id, c.version FROM changed c;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$;

-- Locks the audit chain heads of these tenants (created on first use), in the order given.
CREATE FUNCTION keyhold_lock_audit_heads(tenant_ids uuid[])
  RETURNS TABLE (tenant_id uuid, last_seq bigint, last_hash text)
  LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
  AS $$
#variable_conflict use_column
DECLARE t uuid;
BEGIN
  FOREACH t IN ARRAY tenant_ids LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    INSERT INTO audit_chain_heads (tenant_id, last_seq, last_hash) VALUES (t, 0, repeat('0', 64))
      ON CONFLICT ON CONSTRAINT audit_chain_heads_tenant DO NOTHING;
    RETURN QUERY SELECT h.tenant_id, h.last_seq, h.last_hash FROM audit_chain_heads h WHERE h.tenant_id = t FOR UPDATE;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$;

-- Appends entries (hashed by the server, heads locked above) and advances each chain's head.
CREATE FUNCTION keyhold_append_audit_entries(entries jsonb) RETURNS integer
  LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
  AS $$
DECLARE e record; n integer := 0;
BEGIN
  FOR e IN SELECT * FROM jsonb_to_recordset(entries) AS x(
      id uuid, tenant_id uuid, seq bigint, actor_type text, actor_id text, action text, entity_type text, entity_id text,
      ip text, user_agent text, request_id text, metadata jsonb, created_at timestamptz, prev_hash text, hash text) LOOP
    PERFORM set_config('app.tenant_id', e.tenant_id::text, true);
    INSERT INTO audit_logs (id, tenant_id, seq, actor_type, actor_id, action, entity_type, entity_id, ip, user_agent, request_id, metadata, created_at, prev_hash, hash)
      VALUES (e.id, e.tenant_id, e.seq, e.actor_type, e.actor_id, e.action, e.entity_type, e.entity_id, e.ip, e.user_agent, e.request_id, e.metadata, e.created_at, e.prev_hash, e.hash);
    UPDATE audit_chain_heads SET last_seq = e.seq, last_hash = e.hash, updated_at = now() WHERE tenant_id = e.tenant_id;
    n := n + 1;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
  RETURN n;
END $$;

GRANT EXECUTE ON FUNCTION keyhold_key_scopes_not_under(text), keyhold_data_keys_of(uuid[]),
  keyhold_rewrap_data_keys(uuid[], integer[], text[], text[], text), keyhold_lock_audit_heads(uuid[]),
  keyhold_append_audit_entries(jsonb) TO keyhold_app;
