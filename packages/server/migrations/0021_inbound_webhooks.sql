-- Inbound provider webhooks: verified deliveries, stored before the provider gets its 2xx.

-- One row per provider event, under the tenant that owns the account it is about. A redelivery of
-- the same event (same provider id) is the same row: the unique key makes storing idempotent.
CREATE TABLE inbound_events (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  connection_id uuid NOT NULL,
  provider      text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  topic         text NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
  external_id   text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 300),
  payload       jsonb NOT NULL,
  -- The delivery's exact bytes (what the signature covered); pruned before the metadata.
  raw_body      bytea,
  -- Only headers that carry no secret (topic, ids, content type); never signatures or auth.
  headers       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
  received_at   timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'failed')),
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error    text CHECK (length(last_error) <= 200),
  processed_at  timestamptz,
  -- What the adapter said the event means for the connection, acted on by the processing job
  -- (kept here because the raw body it was read from is pruned first).
  effect        text CHECK (effect IN ('disconnected', 'changed')),
  -- After a failed attempt: not before this time (backoff).
  next_attempt_at timestamptz,
  CONSTRAINT inbound_events_once UNIQUE (tenant_id, provider, external_id)
);
CREATE INDEX inbound_events_tenant_received ON inbound_events (tenant_id, received_at DESC, id DESC);
SELECT keyhold_enable_tenant_rls('inbound_events');
GRANT SELECT, INSERT, UPDATE, DELETE ON inbound_events TO keyhold_app;

-- Deliveries for an account no connection holds (yet): platform level, no tenant, never guessed
-- into one. Only platform admins read it (routes); replayable once the connection exists.
CREATE TABLE inbound_quarantine (
  id           uuid PRIMARY KEY,
  provider     text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  routing_key  text NOT NULL CHECK (length(routing_key) BETWEEN 1 AND 300),
  topic        text NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
  external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 300),
  payload      jsonb NOT NULL,
  raw_body     bytea,
  headers      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
  received_at  timestamptz NOT NULL,
  effect       text CHECK (effect IN ('disconnected', 'changed')),
  CONSTRAINT inbound_quarantine_once UNIQUE (provider, external_id, routing_key)
);
CREATE INDEX inbound_quarantine_received ON inbound_quarantine (received_at DESC);
GRANT SELECT, INSERT, DELETE ON inbound_quarantine TO keyhold_app;

-- The token in a per-connection webhook URL: opaque and random, never the connection id, so the
-- URL reveals nothing and a leaked one is replaced without touching the connection's identity.
ALTER TABLE connections ADD COLUMN endpoint_token text CHECK (endpoint_token ~ '^[A-Za-z0-9_-]{32,64}$');
CREATE UNIQUE INDEX connections_endpoint_token ON connections (endpoint_token) WHERE endpoint_token IS NOT NULL;
-- Existing connections of the providers that sign per connection get theirs now.
UPDATE connections SET endpoint_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
  WHERE provider IN ('stripe', 'mux', 'resend', 'kustomer', 'wise', 'assemblyai', 'unleashed', 'custom');

-- A delivery arrives before anyone knows its tenant. Like the routing key's uniqueness (a global
-- index, 0008/0016), these lookups cross tenants, and return ids only: the delivery is then
-- stored inside that tenant's context.
CREATE FUNCTION keyhold_webhook_route_by_key(p_provider text, p_routing_keys text[])
  RETURNS TABLE (routing_key text, tenant_id uuid, connection_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT k, c.tenant_id, c.id FROM unnest(p_routing_keys) AS k
    JOIN connections c ON c.provider = p_provider AND lower(c.routing_key) = lower(k)
  $$;
CREATE FUNCTION keyhold_webhook_route_by_token(p_provider text, p_token text)
  RETURNS TABLE (tenant_id uuid, connection_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT c.tenant_id, c.id FROM connections c WHERE c.endpoint_token = p_token AND c.provider = p_provider $$;
GRANT EXECUTE ON FUNCTION keyhold_webhook_route_by_key(text, text[]), keyhold_webhook_route_by_token(text, text) TO keyhold_app;

-- Processing drains what is due across tenants (ids only); each event is then processed inside
-- its tenant's context, locked, so concurrent drains process it once.
CREATE FUNCTION keyhold_due_inbound_events(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT tenant_id, id FROM inbound_events
    WHERE status = 'received' AND coalesce(next_attempt_at, received_at) <= p_now
    ORDER BY coalesce(next_attempt_at, received_at) LIMIT p_limit
  $$;
GRANT EXECUTE ON FUNCTION keyhold_due_inbound_events(timestamptz, integer) TO keyhold_app;
CREATE INDEX inbound_events_due ON inbound_events ((coalesce(next_attempt_at, received_at))) WHERE status = 'received';

-- Retention across tenants (raw bodies, then whole rows), counts only.
CREATE FUNCTION keyhold_prune_inbound_events(p_raw_before timestamptz, p_rows_before timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH r AS (UPDATE inbound_events SET raw_body = NULL WHERE raw_body IS NOT NULL AND received_at < p_raw_before RETURNING 1),
         d AS (DELETE FROM inbound_events WHERE received_at < p_rows_before AND status <> 'received' RETURNING 1),
         q AS (DELETE FROM inbound_quarantine WHERE received_at < p_rows_before RETURNING 1)
    SELECT ((SELECT count(*) FROM r) + (SELECT count(*) FROM d) + (SELECT count(*) FROM q))::integer
  $$;
GRANT EXECUTE ON FUNCTION keyhold_prune_inbound_events(timestamptz, timestamptz) TO keyhold_app;
