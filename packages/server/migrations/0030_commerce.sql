-- Commerce: per-tenant settings (the low-stock threshold) and which items a low-stock alert was
-- sent for, so an item is told once when it goes under the threshold, not on every sync.

CREATE TABLE commerce_settings (
  tenant_id            uuid PRIMARY KEY REFERENCES tenants (id),
  low_stock_threshold  integer NOT NULL CHECK (low_stock_threshold BETWEEN 0 AND 1000000),
  updated_at           timestamptz NOT NULL
);
SELECT keyhold_enable_tenant_rls('commerce_settings');
GRANT SELECT, INSERT, UPDATE ON commerce_settings TO keyhold_app;

-- A row exists while the item is under the threshold and was told: it is removed (re-armed) when
-- the item's quantity is back at or above the threshold, or the item is gone.
CREATE TABLE commerce_low_stock_alerts (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  model          text NOT NULL CHECK (model ~ '^[a-z][a-z0-9_]{0,62}$'),
  external_id    text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 300),
  quantity       integer NOT NULL,
  threshold      integer NOT NULL,
  alerted_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connection_id, model, external_id)
);
SELECT keyhold_enable_tenant_rls('commerce_low_stock_alerts');
GRANT SELECT, INSERT, DELETE ON commerce_low_stock_alerts TO keyhold_app;
