-- Every change of a connection is a connection event, written by the connection store together
-- with its outbox event (0017): the new kinds are a config edit, enabling/disabling, a saved
-- connection failing its test, a transient refresh failure and a deletion.
ALTER TABLE connection_events DROP CONSTRAINT connection_events_type_check;
ALTER TABLE connection_events ADD CONSTRAINT connection_events_type_check CHECK (type IN (
  'connected', 'reconnected', 'updated', 'rotated', 'destination_changed', 'enabled', 'disabled',
  'needs_reauth', 'degraded', 'recovered', 'refresh_failed', 'verification_failed', 'disconnected', 'deleted'));

-- A provider account is one account whatever the case it is typed in (`ACME.myshopify.com` is
-- `acme.myshopify.com`): the routing key's uniqueness ignores case, so the credentials API cannot
-- claim by a case variant what an OAuth connection of another tenant holds.
DROP INDEX connections_routing_key;
CREATE UNIQUE INDEX connections_routing_key ON connections (provider, lower(routing_key)) WHERE routing_key IS NOT NULL;
