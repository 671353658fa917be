-- A rotated secret and a change of where (or how) secrets are sent are connection events, so the
-- tenant's owners hear of them.

ALTER TABLE connection_events DROP CONSTRAINT connection_events_type_check;
ALTER TABLE connection_events ADD CONSTRAINT connection_events_type_check CHECK (type IN (
  'connected', 'reconnected', 'needs_reauth', 'degraded', 'recovered', 'disconnected', 'rotated', 'destination_changed'));
