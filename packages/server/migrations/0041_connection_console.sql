-- What the console's connection page shows: when Keyhold last renewed a connection's access token
-- (a routine refresh writes no event, so nothing else records it), and one connection's events.

ALTER TABLE connections ADD COLUMN last_refreshed_at timestamptz;

-- GET /api/events?connection=: a connection's timeline without reading the tenant's whole outbox.
CREATE INDEX events_tenant_connection ON events (tenant_id, (subject ->> 'connectionId'), id);
