import type { ColumnType } from 'kysely';

/** Kysely's view of the commerce module's tables (migration 0030). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type CommerceSettingsTable = {
  tenant_id: string;
  low_stock_threshold: number;
  updated_at: Timestamp;
};

export type CommerceLowStockAlertsTable = {
  tenant_id: string;
  connection_id: string;
  model: string;
  external_id: string;
  quantity: number;
  threshold: number;
  alerted_at: Timestamp;
};
