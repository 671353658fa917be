-- The platform console's health page: figures across every tenant, as counts and ids only. Like
-- the other cross-tenant lookups these functions see past RLS, so they return nothing a tenant
-- keeps secret: no credential, no config, no provider account id, no payload.

-- One row per figure: (metric, key, n). Connections of deleted tenants do not count.
--   tenants/<status>, connections/<status>, tokens_expired, tokens_expiring (until p_soon),
--   failing_syncs (a connection's sync whose latest finished run failed), quarantine.
CREATE FUNCTION keyhold_platform_health(p_now timestamptz, p_soon timestamptz)
  RETURNS TABLE (metric text, key text, n bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH live AS (SELECT id, status FROM tenants WHERE deleted_at IS NULL),
         conns AS (SELECT c.* FROM connections c JOIN live t ON t.id = c.tenant_id),
         last_runs AS (
           SELECT DISTINCT ON (r.tenant_id, r.connection_id, r.sync) r.status
           FROM sync_runs r JOIN live t ON t.id = r.tenant_id
           WHERE r.status <> 'running'
           ORDER BY r.tenant_id, r.connection_id, r.sync, r.id DESC
         )
    SELECT 'tenants', status, count(*) FROM live GROUP BY status
    UNION ALL SELECT 'connections', status, count(*) FROM conns GROUP BY status
    UNION ALL SELECT 'tokens_expired', '', count(*) FROM conns
      WHERE is_active AND token_expires_at IS NOT NULL AND token_expires_at <= p_now
    UNION ALL SELECT 'tokens_expiring', '', count(*) FROM conns
      WHERE is_active AND token_expires_at > p_now AND token_expires_at <= p_soon
    UNION ALL SELECT 'failing_syncs', '', count(*) FROM last_runs WHERE status = 'failed'
    UNION ALL SELECT 'quarantine', '', count(*) FROM inbound_quarantine
  $$;

-- The tenants with something to fix, worst first: ids and counts only (names are then read inside
-- each tenant's own context).
CREATE FUNCTION keyhold_tenants_needing_attention(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, needs_reauth bigint, tokens_expired bigint, failing_syncs bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH live AS (SELECT id FROM tenants WHERE deleted_at IS NULL),
         c AS (
           SELECT c.tenant_id,
                  count(*) FILTER (WHERE c.status = 'needs_reauth') AS needs_reauth,
                  count(*) FILTER (WHERE c.is_active AND c.token_expires_at <= p_now) AS tokens_expired
           FROM connections c JOIN live t ON t.id = c.tenant_id GROUP BY c.tenant_id
         ),
         s AS (
           SELECT tenant_id, count(*) FILTER (WHERE status = 'failed') AS failing_syncs
           FROM (SELECT DISTINCT ON (r.tenant_id, r.connection_id, r.sync) r.tenant_id, r.status
                 FROM sync_runs r JOIN live t ON t.id = r.tenant_id
                 WHERE r.status <> 'running'
                 ORDER BY r.tenant_id, r.connection_id, r.sync, r.id DESC) last
           GROUP BY tenant_id
         )
    SELECT * FROM (
      SELECT coalesce(c.tenant_id, s.tenant_id) AS tenant_id, coalesce(c.needs_reauth, 0) AS needs_reauth,
             coalesce(c.tokens_expired, 0) AS tokens_expired, coalesce(s.failing_syncs, 0) AS failing_syncs
      FROM c FULL JOIN s ON s.tenant_id = c.tenant_id
    ) a
    WHERE a.needs_reauth + a.tokens_expired + a.failing_syncs > 0
    ORDER BY a.needs_reauth + a.tokens_expired + a.failing_syncs DESC, a.tenant_id
    LIMIT least(greatest(p_limit, 1), 100)
  $$;

-- Data keys by master key, version and state (platform scope included): which master keys still
-- wrap data keys, so an operator sees whether a master key rotation has finished.
CREATE FUNCTION keyhold_data_key_status()
  RETURNS TABLE (kek_id text, version integer, state text, n bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT kek_id, version, state, count(*) FROM tenant_keys GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 $$;

GRANT EXECUTE ON FUNCTION keyhold_platform_health(timestamptz, timestamptz),
  keyhold_tenants_needing_attention(timestamptz, integer), keyhold_data_key_status() TO keyhold_app;
