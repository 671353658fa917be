-- Outbound webhooks: tenants' endpoints, one delivery per (event, endpoint), every attempt logged.

-- A tenant's receiving endpoint. The signing secret (`whsec_…`) is a vault ciphertext under the
-- tenant's data key; during a rotation the previous one stays valid until previous_secret_until.
CREATE TABLE webhook_endpoints (
  id                    uuid PRIMARY KEY,
  tenant_id             uuid NOT NULL REFERENCES tenants (id),
  url                   text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  description           text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  event_types           text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 100),
  enabled               boolean NOT NULL DEFAULT true,
  disabled_reason       text CHECK (disabled_reason IN ('gone_410', 'failing_5_days')),
  -- v1: HMAC-SHA256 with a shared `whsec_` secret; v1a: ed25519, Keyhold holds the private key
  -- (a vault ciphertext like the secret) and the tenant verifies with `public_key` (`whpk_`).
  signature_scheme      text NOT NULL DEFAULT 'v1' CHECK (signature_scheme IN ('v1', 'v1a')),
  public_key            text CHECK (public_key ~ '^whpk_[A-Za-z0-9+/=]{40,64}$'),
  secret                text NOT NULL CHECK (secret LIKE 'kh1.%'),
  previous_secret       text CHECK (previous_secret LIKE 'kh1.%'),
  previous_secret_until timestamptz,
  -- The first failed attempt since the last success: 5 days of failures disable the endpoint.
  failing_since         timestamptz,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);
SELECT keyhold_enable_tenant_rls('webhook_endpoints');
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO keyhold_app;

-- One message per (event, endpoint): its id is the `webhook-id` every attempt sends, and `body` the
-- exact bytes every attempt signs (pruned after the payload retention; the metadata stays longer).
CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id        uuid,
  event_type      text NOT NULL CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
  body            text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Pending: not before this time. A sender takes a delivery by moving it past its timeout (a
  -- lease), so one whose sender died is simply due again: at least once, never lost.
  next_attempt_at timestamptz,
  last_status     integer,
  last_error      text CHECK (length(last_error) <= 200),
  created_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
SELECT keyhold_enable_tenant_rls('webhook_deliveries');
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO keyhold_app;

-- Every attempt: what the endpoint answered (status, latency, at most 1 KiB of its body), never
-- what Keyhold sent (no headers, no signature, no secret).
CREATE TABLE webhook_delivery_attempts (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt      integer NOT NULL CHECK (attempt >= 1),
  attempted_at timestamptz NOT NULL,
  status_code  integer,
  latency_ms   integer NOT NULL CHECK (latency_ms >= 0),
  error        text CHECK (length(error) <= 200),
  response     text CHECK (octet_length(response) <= 1024)
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (tenant_id, delivery_id, attempt);
SELECT keyhold_enable_tenant_rls('webhook_delivery_attempts');
GRANT SELECT, INSERT ON webhook_delivery_attempts TO keyhold_app;

-- Senders take what is due across tenants (ids only); each delivery is then taken inside its
-- tenant's context, locked, so concurrent senders never take the same one.
CREATE FUNCTION keyhold_due_webhook_deliveries(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT tenant_id, id FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= p_now
    ORDER BY next_attempt_at LIMIT p_limit
  $$;
GRANT EXECUTE ON FUNCTION keyhold_due_webhook_deliveries(timestamptz, integer) TO keyhold_app;

-- Retention across tenants (bodies, then finished deliveries with their attempts), counts only.
CREATE FUNCTION keyhold_prune_webhook_deliveries(p_body_before timestamptz, p_rows_before timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH b AS (UPDATE webhook_deliveries SET body = NULL WHERE body IS NOT NULL AND status <> 'pending' AND created_at < p_body_before RETURNING 1),
         d AS (DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < p_rows_before RETURNING 1)
    SELECT ((SELECT count(*) FROM b) + (SELECT count(*) FROM d))::integer
  $$;
GRANT EXECUTE ON FUNCTION keyhold_prune_webhook_deliveries(timestamptz, timestamptz) TO keyhold_app;

-- Managing webhook endpoints is a pair of scopes of its own.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write']::text[] AND cardinality(scopes) > 0);

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'credentials:read:refresh']::text[] AND cardinality(scopes) > 0);
