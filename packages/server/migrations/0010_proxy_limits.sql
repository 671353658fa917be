-- Proactive provider rate limits, shared by every Keyhold process through Postgres.

-- One token bucket per (connection, limit). `tokens` is refilled lazily from `updated_at` at
-- `rate` per second up to `capacity`; `blocked_until` is set when the provider itself said stop
-- (429 / Retry-After / remaining = 0). Processes take tokens in small leases (see ADR 0003).
CREATE TABLE rate_buckets (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  connection_id uuid NOT NULL,
  name          text NOT NULL CHECK (name ~ '^[a-z_]{1,32}$'),
  capacity      double precision NOT NULL CHECK (capacity > 0),
  rate          double precision NOT NULL CHECK (rate > 0),
  tokens        double precision NOT NULL,
  updated_at    timestamptz NOT NULL,
  blocked_until timestamptz,
  PRIMARY KEY (connection_id, name)
);
SELECT keyhold_enable_tenant_rls('rate_buckets');
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_buckets TO keyhold_app;

-- Concurrency slots per connection (Xero: 5 in flight per organisation). A slot is held until
-- released or its lease runs out, so a crashed process frees its slots by itself.
CREATE TABLE rate_slots (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  connection_id uuid NOT NULL,
  slot          integer NOT NULL CHECK (slot >= 0),
  holder        uuid,
  held_until    timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (connection_id, slot)
);
SELECT keyhold_enable_tenant_rls('rate_slots');
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_slots TO keyhold_app;
