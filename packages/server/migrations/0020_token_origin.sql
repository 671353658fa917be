-- Where a connection's current secrets came from: 'oauth' (Keyhold's OAuth flow issued them) or
-- 'tenant' (someone saved them through the credentials API). Not a secret. Only tokens Keyhold's
-- own app obtained may be exchanged with that app's client credentials (a grant upgrade, e.g. a
-- Shopify non-expiring offline token for an expiring one); a pasted token never is.
ALTER TABLE connections ADD COLUMN token_origin text CHECK (token_origin IN ('oauth', 'tenant'));

-- Existing rows: the source of the last event that wrote secrets. Before events recorded their
-- source (0009-0015), 'connected'/'reconnected' events came only from the OAuth flow and
-- 'rotated' ones only from the credentials API (0014); since 0016 the credentials API's events
-- carry source 'credentials' and the OAuth flow's 'oauth'. A connection with no such event (saved
-- through the credentials API before it wrote events) stays NULL and is never upgraded.
UPDATE connections c SET token_origin = CASE
    WHEN e.source = 'oauth' OR (e.source IS NULL AND e.type IN ('connected', 'reconnected')) THEN 'oauth'
    ELSE 'tenant' END
FROM (
  SELECT DISTINCT ON (connection_id) connection_id, type, detail->>'source' AS source
  FROM connection_events
  WHERE type IN ('connected', 'reconnected', 'rotated')
  ORDER BY connection_id, id DESC
) e
WHERE c.id = e.connection_id;

CREATE INDEX connections_upgrade_candidates ON connections (provider)
  WHERE token_expires_at IS NULL AND token_origin = 'oauth' AND is_active;

-- Scheduler claim for grant upgrades: across tenants, leases up to p_limit connections of the
-- given providers whose token Keyhold's OAuth flow issued and that has no expiry (so no refresh
-- token), taking the same refresh lease a refresh takes, so an upgrade and a refresh of one
-- connection (or two upgrades) never run at once. Returns ids and tenants only.
CREATE FUNCTION keyhold_claim_upgrade_batch(p_owner uuid, p_now timestamptz, p_lease_until timestamptz, p_providers text[], p_limit integer)
  RETURNS TABLE (id uuid, tenant_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    UPDATE connections c SET refresh_lease_owner = p_owner, refresh_lease_until = p_lease_until
    WHERE c.id IN (
      SELECT x.id FROM connections x
      WHERE x.is_active AND x.status IN ('active', 'degraded')
        AND x.token_expires_at IS NULL AND x.token_origin = 'oauth'
        AND x.provider = ANY (p_providers)
        AND (x.next_refresh_at IS NULL OR x.next_refresh_at <= p_now)
        AND (x.refresh_lease_until IS NULL OR x.refresh_lease_until < p_now)
      ORDER BY x.created_at
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED)
    RETURNING c.id, c.tenant_id
  $$;
GRANT EXECUTE ON FUNCTION keyhold_claim_upgrade_batch(uuid, timestamptz, timestamptz, text[], integer) TO keyhold_app;
