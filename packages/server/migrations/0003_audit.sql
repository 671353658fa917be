-- Tamper-evident audit log: one hash chain per tenant, plus one for platform events (tenant_id
-- NULL). hash = sha256(prev_hash || '\n' || canonical JSON of the entry), computed by the server
-- and recomputed by `keyhold audit verify`.
CREATE TABLE audit_logs (
  id          uuid PRIMARY KEY,
  tenant_id   uuid REFERENCES tenants (id),
  seq         bigint NOT NULL CHECK (seq > 0),
  actor_type  text NOT NULL CHECK (actor_type IN ('user', 'platform_admin', 'api_key', 'system')),
  actor_id    text,
  action      text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  entity_type text,
  entity_id   text,
  ip          text,
  user_agent  text,
  request_id  text,
  metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  created_at  timestamptz NOT NULL,
  prev_hash   text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT audit_logs_chain_seq UNIQUE NULLS NOT DISTINCT (tenant_id, seq)
);
CREATE INDEX audit_logs_tenant_created ON audit_logs (tenant_id, created_at DESC);
CREATE INDEX audit_logs_tenant_action ON audit_logs (tenant_id, action, created_at DESC);

-- The newest link of each chain. Locking this row serialises appends to one chain across nodes,
-- and it reveals entries removed from the end of a chain.
CREATE TABLE audit_chain_heads (
  tenant_id  uuid REFERENCES tenants (id),
  last_seq   bigint NOT NULL CHECK (last_seq >= 0),
  last_hash  text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$'),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audit_chain_heads_tenant UNIQUE NULLS NOT DISTINCT (tenant_id)
);

SELECT keyhold_enable_tenant_rls('audit_logs');
SELECT keyhold_enable_tenant_rls('audit_chain_heads');
-- Platform events are visible only in the platform scope (withPlatform), never to a tenant.
CREATE POLICY platform_scope ON audit_logs
  USING (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on')
  WITH CHECK (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on');
CREATE POLICY platform_scope ON audit_chain_heads
  USING (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on')
  WITH CHECK (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on');

-- Append-only for the app: no UPDATE, DELETE or TRUNCATE on entries.
GRANT SELECT, INSERT ON audit_logs TO keyhold_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO keyhold_app;

-- Which tenants have an audit chain (ids only), for `keyhold audit verify` across all tenants.
CREATE FUNCTION keyhold_audit_chain_tenant_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM audit_chain_heads WHERE tenant_id IS NOT NULL
        UNION SELECT DISTINCT tenant_id FROM audit_logs WHERE tenant_id IS NOT NULL
        ORDER BY 1 $$;
GRANT EXECUTE ON FUNCTION keyhold_audit_chain_tenant_ids() TO keyhold_app;
