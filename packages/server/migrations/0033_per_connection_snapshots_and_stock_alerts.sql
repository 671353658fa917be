-- Working capital snapshots per accounting connection: a tenant with two companies (two Xero
-- organisations or QuickBooks companies) keeps each one's daily figures, and a company's
-- fallback answer is its own last snapshot, never another company's. A snapshot goes with its
-- connection; rows whose connection was already removed name no company and are dropped.
DELETE FROM working_capital_metrics WHERE connection_id IS NULL;
ALTER TABLE working_capital_metrics
  DROP CONSTRAINT working_capital_metrics_pkey,
  DROP CONSTRAINT working_capital_metrics_connection_id_fkey,
  ALTER COLUMN connection_id SET NOT NULL,
  ADD CONSTRAINT working_capital_metrics_connection_id_fkey FOREIGN KEY (connection_id) REFERENCES connections (id) ON DELETE CASCADE,
  ADD PRIMARY KEY (tenant_id, connection_id, metric_date),
  -- The accounting company's home currency the figures are in (null: its records did not tell it).
  ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$');

-- Commerce low-stock alerts. A connection's stock model is "watched" once its first sync was
-- evaluated: that first evaluation (and a reset's) records the low items silently and tells one
-- summary instead of an event per item. An alert row told under another threshold than the
-- current one is stale and is evaluated again (updated in place).
CREATE TABLE commerce_stock_watches (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  model          text NOT NULL CHECK (model ~ '^[a-z][a-z0-9_]{0,62}$'),
  since          timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connection_id, model)
);
SELECT keyhold_enable_tenant_rls('commerce_stock_watches');
GRANT SELECT, INSERT ON commerce_stock_watches TO keyhold_app;
GRANT UPDATE ON commerce_low_stock_alerts TO keyhold_app;
