-- Working capital: one snapshot per tenant and day of the figures computed from its accounting
-- records (receivables, payables) and stock records (inventory value). The last snapshot is what
-- the API answers with while the accounting provider cannot be reached.
CREATE TABLE working_capital_metrics (
  tenant_id            uuid NOT NULL REFERENCES tenants (id),
  metric_date          date NOT NULL,
  source               text NOT NULL CHECK (source IN ('xero', 'quickbooks')),
  connection_id        uuid REFERENCES connections (id) ON DELETE SET NULL,
  accounts_receivable  numeric(14, 2) NOT NULL CHECK (accounts_receivable >= 0),
  accounts_payable     numeric(14, 2) NOT NULL CHECK (accounts_payable >= 0),
  -- Null: no stock source connected (counts as 0 below), or no cash figure available.
  inventory_value      numeric(14, 2) CHECK (inventory_value >= 0),
  cash_balance         numeric(14, 2),
  working_capital      numeric(15, 2) GENERATED ALWAYS AS (accounts_receivable + coalesce(inventory_value, 0) - accounts_payable) STORED,
  -- Current assets counted above over current liabilities; null when nothing is payable.
  current_ratio        numeric(14, 4) GENERATED ALWAYS AS (
    CASE WHEN accounts_payable > 0 THEN round((accounts_receivable + coalesce(inventory_value, 0)) / accounts_payable, 4) END
  ) STORED,
  -- When the records behind the figures were last synced from the provider.
  as_of                timestamptz NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, metric_date)
);
SELECT keyhold_enable_tenant_rls('working_capital_metrics');
GRANT SELECT, INSERT, UPDATE ON working_capital_metrics TO keyhold_app;

-- The daily snapshot job's only cross-tenant read: tenants with an active connection to one of
-- these providers (ids only). Each tenant's snapshot is then computed inside its own context.
CREATE FUNCTION keyhold_tenants_with_providers(p_providers text[]) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT DISTINCT c.tenant_id FROM connections c JOIN tenants t ON t.id = c.tenant_id
    WHERE c.provider = ANY (p_providers) AND c.is_active AND t.deleted_at IS NULL
  $$;
GRANT EXECUTE ON FUNCTION keyhold_tenants_with_providers(text[]) TO keyhold_app;
