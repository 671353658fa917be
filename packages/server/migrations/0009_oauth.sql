-- OAuth broker: authorizations in flight, choices waiting for the user, token refresh leases,
-- and the connection event log.

-- One row per authorize call; the callback consumes it (single use). Only the SHA-256 of the
-- state and of the browser-binding cookie are stored, so a database reader cannot forge a callback.
CREATE TABLE oauth_states (
  id            uuid PRIMARY KEY,
  state_hash    text NOT NULL UNIQUE CHECK (state_hash ~ '^[0-9a-f]{64}$'),
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  user_id       uuid NOT NULL,
  provider      text NOT NULL,
  label         text NOT NULL,
  browser_hash  text NOT NULL CHECK (browser_hash ~ '^[0-9a-f]{64}$'),
  -- PKCE verifier, vault ciphertext (purpose `oauth_state.code_verifier`); null when the provider refuses PKCE.
  code_verifier text CHECK (code_verifier LIKE 'kh1.%'),
  redirect_uri  text NOT NULL,
  return_to     text,
  -- Non-secret inputs of the flow, e.g. the Shopify store domain.
  params        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
SELECT keyhold_enable_tenant_rls('oauth_states');
-- UPDATE: key rotation re-encrypts the verifier in place.
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_states TO keyhold_app;

-- The callback arrives without a session: the state is its only credential. This returns the
-- tenant that issued a state (by hash), and nothing else, so the callback can then work inside
-- that tenant's context.
CREATE FUNCTION keyhold_oauth_state_tenant(p_state_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM oauth_states WHERE state_hash = p_state_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_oauth_state_tenant(text) TO keyhold_app;

-- Tokens obtained for an account the user still has to pick (several Xero organisations, a
-- Facebook Page). Tokens are a vault ciphertext; `choices` holds ids and names only.
CREATE TABLE oauth_pending (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  user_id       uuid NOT NULL,
  provider      text NOT NULL,
  label         text NOT NULL,
  secrets       text NOT NULL CHECK (secrets LIKE 'kh1.%'),
  choices       jsonb NOT NULL CHECK (jsonb_typeof(choices) = 'array'),
  return_to     text,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
SELECT keyhold_enable_tenant_rls('oauth_pending');
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_pending TO keyhold_app;

-- Refresh coordination. A node refreshes a connection only while it holds the lease
-- (owner + expiry); its write is fenced on still holding it. Backoff after transient failures.
ALTER TABLE connections
  ADD COLUMN refresh_lease_owner uuid,
  ADD COLUMN refresh_lease_until timestamptz,
  ADD COLUMN refresh_failures    integer NOT NULL DEFAULT 0 CHECK (refresh_failures >= 0),
  ADD COLUMN next_refresh_at     timestamptz;
CREATE INDEX connections_token_expiry ON connections (token_expires_at) WHERE token_expires_at IS NOT NULL AND is_active;

-- Scheduler claim: across tenants, leases up to p_limit connections whose token expires before
-- p_before and that nobody else holds, and returns their ids and tenants only. The refresh itself
-- then runs in each tenant's context and is fenced on the lease.
CREATE FUNCTION keyhold_claim_refresh_batch(p_owner uuid, p_now timestamptz, p_before timestamptz, p_lease_until timestamptz, p_limit integer)
  RETURNS TABLE (id uuid, tenant_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    UPDATE connections c SET refresh_lease_owner = p_owner, refresh_lease_until = p_lease_until
    WHERE c.id IN (
      SELECT x.id FROM connections x
      WHERE x.is_active AND x.status IN ('active', 'degraded')
        AND x.token_expires_at IS NOT NULL AND x.token_expires_at < p_before
        AND (x.next_refresh_at IS NULL OR x.next_refresh_at <= p_now)
        AND (x.refresh_lease_until IS NULL OR x.refresh_lease_until < p_now)
      ORDER BY x.token_expires_at
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED)
    RETURNING c.id, c.tenant_id
  $$;
GRANT EXECUTE ON FUNCTION keyhold_claim_refresh_batch(uuid, timestamptz, timestamptz, timestamptz, integer) TO keyhold_app;

-- What happened to a connection that someone may want to hear about (needs_reauth, degraded,
-- recovered, connected, disconnected): read by the admin UI now, by outbound webhooks later.
CREATE TABLE connection_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  connection_id uuid NOT NULL,
  type          text NOT NULL CHECK (type IN ('connected', 'reconnected', 'needs_reauth', 'degraded', 'recovered', 'disconnected')),
  detail        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_events_tenant ON connection_events (tenant_id, id);
SELECT keyhold_enable_tenant_rls('connection_events');
GRANT SELECT, INSERT ON connection_events TO keyhold_app;

-- Housekeeping across tenants: expired authorizations and abandoned choices hold nothing useful.
CREATE FUNCTION keyhold_purge_expired_oauth(p_now timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH s AS (DELETE FROM oauth_states WHERE expires_at < p_now RETURNING 1),
         p AS (DELETE FROM oauth_pending WHERE expires_at < p_now RETURNING 1)
    SELECT ((SELECT count(*) FROM s) + (SELECT count(*) FROM p))::integer
  $$;
GRANT EXECUTE ON FUNCTION keyhold_purge_expired_oauth(timestamptz) TO keyhold_app;
