-- Background refresh claims, clustered by tenant. A sweep refreshes each tenant's share of a
-- batch in that tenant's own transactions (one read, one write per 32 answers), so a batch of
-- 200 connections spread over 200 tenants cost 400 transactions. The claim now takes the tenants
-- of the most urgent due connections, most urgent first, and each one's due connections (in
-- expiry order) that expire within a fifth of the margin (60 s of 300) of its most urgent one,
-- until the batch is full: the most urgent connection is always in the batch, no connection is
-- put behind another tenant's that expires more than that window later, and a backlog (after an
-- outage, a bulk import) costs a few transactions per tenant, not per connection. Both scans are tight index scans over connections that can be refreshed at all
-- (the partial indexes leave out disabled, needs_reauth and non-expiring ones).
DROP INDEX connections_token_expiry;
CREATE INDEX connections_refresh_due ON connections (token_expires_at)
  WHERE token_expires_at IS NOT NULL AND is_active AND status IN ('active', 'degraded');
CREATE INDEX connections_refresh_due_by_tenant ON connections (tenant_id, token_expires_at)
  WHERE token_expires_at IS NOT NULL AND is_active AND status IN ('active', 'degraded');

CREATE OR REPLACE FUNCTION keyhold_claim_refresh_batch(p_owner uuid, p_now timestamptz, p_before timestamptz, p_lease_until timestamptz, p_limit integer)
  RETURNS TABLE (id uuid, tenant_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    UPDATE connections c SET refresh_lease_owner = p_owner, refresh_lease_until = p_lease_until
    WHERE c.id IN (
      SELECT y.id
      FROM (SELECT x.tenant_id, min(x.token_expires_at) AS first_expiry
              FROM (SELECT x.tenant_id, x.token_expires_at FROM connections x
                     WHERE x.is_active AND x.status IN ('active', 'degraded')
                       AND x.token_expires_at IS NOT NULL AND x.token_expires_at < p_before
                       AND (x.next_refresh_at IS NULL OR x.next_refresh_at <= p_now)
                       AND (x.refresh_lease_until IS NULL OR x.refresh_lease_until < p_now)
                     ORDER BY x.token_expires_at
                     LIMIT p_limit) x
             GROUP BY x.tenant_id
             ORDER BY first_expiry) u
      CROSS JOIN LATERAL (
        SELECT y.id FROM connections y
         WHERE y.tenant_id = u.tenant_id
           AND y.is_active AND y.status IN ('active', 'degraded')
           AND y.token_expires_at IS NOT NULL AND y.token_expires_at < p_before
           AND y.token_expires_at < u.first_expiry + (p_before - p_now) / 5
           AND (y.next_refresh_at IS NULL OR y.next_refresh_at <= p_now)
           AND (y.refresh_lease_until IS NULL OR y.refresh_lease_until < p_now)
         ORDER BY y.token_expires_at
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED) y
      ORDER BY u.first_expiry
      LIMIT p_limit)
    RETURNING c.id, c.tenant_id
  $$;
