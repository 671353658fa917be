-- The refresh claim picks its tenants from due rows no other claim holds (SKIP LOCKED): picked
-- from rows a concurrent claim had locked but not yet leased, every one of those tenants' rows was
-- then skipped, the claim came back empty although other tenants had due rows, and the sweep that
-- asked stopped early. The rows picked here are locked for the statement only; those the claim
-- does not lease are free again when it ends.
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
                     LIMIT p_limit
                     FOR UPDATE SKIP LOCKED) x
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
