-- The outbox: what happened to a tenant's objects, written in the transaction of the change and
-- drained by workers (outbound webhooks, notifications, syncs) afterwards. Payloads are names,
-- codes and statuses, never secrets (the contract's strict schemas are checked before a write).
CREATE TABLE events (
  -- UUIDv7, made by the server: time-ordered, so the primary key is also the event order.
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  type          text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  subject       jsonb NOT NULL CHECK (jsonb_typeof(subject) = 'object'),
  payload       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set once the drain job has handed the event to every consumer.
  dispatched_at timestamptz
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_tenant_type ON events (tenant_id, type, id);
CREATE INDEX events_pending ON events (tenant_id, id) WHERE dispatched_at IS NULL;
SELECT keyhold_enable_tenant_rls('events');
-- An event is never edited: the app may only mark it dispatched.
GRANT SELECT, INSERT ON events TO keyhold_app;
GRANT UPDATE (dispatched_at) ON events TO keyhold_app;

-- The drain job's only cross-tenant read: tenants with undispatched events (ids only), the one
-- waiting longest first. Each tenant's events are then read and marked inside its own context.
CREATE FUNCTION keyhold_tenants_with_pending_events(p_limit integer) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT tenant_id FROM (
      SELECT DISTINCT ON (tenant_id) tenant_id, id FROM events WHERE dispatched_at IS NULL ORDER BY tenant_id, id
    ) oldest ORDER BY id LIMIT p_limit
  $$;
GRANT EXECUTE ON FUNCTION keyhold_tenants_with_pending_events(integer) TO keyhold_app;

-- Reading the event log is a scope of its own.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write']::text[] AND cardinality(scopes) > 0);

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write']::text[] AND cardinality(scopes) > 0);
