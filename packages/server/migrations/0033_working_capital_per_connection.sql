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
  ADD PRIMARY KEY (tenant_id, connection_id, metric_date);
