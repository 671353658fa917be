-- Actions (writes to a provider) are recorded in sync_runs next to the syncs, with the
-- idempotency key they ran under and their result (stable data the action returned, never a
-- provider's body). A repeated key finds the stored row instead of writing again.
ALTER TABLE sync_runs
  ADD COLUMN kind text NOT NULL DEFAULT 'sync' CHECK (kind IN ('sync', 'action')),
  ADD COLUMN idempotency_key text CHECK (idempotency_key ~ '^[A-Za-z0-9_.:-]{1,200}$'),
  ADD COLUMN result jsonb CHECK (result IS NULL OR (jsonb_typeof(result) = 'object' AND pg_column_size(result) <= 4096)),
  ADD CONSTRAINT sync_runs_action_key CHECK ((kind = 'action') = (idempotency_key IS NOT NULL));
-- Syncs have no key (NULLs never collide), so this constrains actions only.
CREATE UNIQUE INDEX sync_runs_idempotency ON sync_runs (tenant_id, connection_id, sync, idempotency_key);

-- Exchange rates pushed into each connected accounting company (modules/exchange-rates).
-- A company is one connection; no row in the settings means the defaults (enabled, every currency).
CREATE TABLE exchange_rate_settings (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  enabled        boolean NOT NULL DEFAULT true,
  -- NULL: every currency the rate source has and the company uses.
  currencies     text[] CHECK (currencies IS NULL OR cardinality(currencies) <= 200),
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connection_id)
);
SELECT keyhold_enable_tenant_rls('exchange_rate_settings');
GRANT SELECT, INSERT, UPDATE ON exchange_rate_settings TO keyhold_app;

-- One rate per company, currency and date, into the company's home currency.
CREATE TABLE exchange_rates (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  rate_date      date NOT NULL,
  home_currency  text NOT NULL CHECK (home_currency ~ '^[A-Z]{3}$' AND home_currency <> currency),
  rate           numeric(24, 12) NOT NULL CHECK (rate > 0),
  source         text NOT NULL CHECK (source ~ '^[a-z][a-z0-9_-]{0,30}$'),
  -- Set once the company holds this rate (the write action's run).
  synced_at      timestamptz,
  action_run_id  uuid,
  error_code     text CHECK (error_code ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connection_id, currency, rate_date)
);
CREATE INDEX exchange_rates_pending ON exchange_rates (tenant_id, connection_id) WHERE synced_at IS NULL;
SELECT keyhold_enable_tenant_rls('exchange_rates');
GRANT SELECT, INSERT, UPDATE ON exchange_rates TO keyhold_app;

-- Each sync of one company for one date (the audit of syncs per company).
CREATE TABLE exchange_rate_runs (
  id             uuid PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  rate_date      date NOT NULL,
  trigger        text NOT NULL CHECK (trigger IN ('manual', 'schedule')),
  status         text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
  rates_synced   integer NOT NULL DEFAULT 0 CHECK (rates_synced >= 0),
  error_code     text CHECK (error_code ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz NOT NULL
);
CREATE INDEX exchange_rate_runs_company ON exchange_rate_runs (tenant_id, connection_id, id DESC);
SELECT keyhold_enable_tenant_rls('exchange_rate_runs');
GRANT SELECT, INSERT ON exchange_rate_runs TO keyhold_app;

-- The daily schedule's only cross-tenant read: tenants with a usable QuickBooks company (ids
-- only). Each tenant's companies are then read and synced inside its own context.
CREATE FUNCTION keyhold_exchange_rate_tenants() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT DISTINCT tenant_id FROM connections
    WHERE provider = 'quickbooks' AND is_active AND status IN ('active', 'degraded')
  $$;
REVOKE ALL ON FUNCTION keyhold_exchange_rate_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION keyhold_exchange_rate_tenants() TO keyhold_app;
