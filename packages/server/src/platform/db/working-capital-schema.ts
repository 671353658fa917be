import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of working capital snapshots (migration 0028). Numerics come back as strings (no precision lost). */
type Numeric = ColumnType<string, string | number, string | number>;

export type WorkingCapitalMetricsTable = {
  tenant_id: string;
  /** `YYYY-MM-DD` (UTC day); read it as text, never as a local-time Date. */
  metric_date: ColumnType<string, string, string>;
  source: 'xero' | 'quickbooks';
  connection_id: string | null;
  /** The accounting home currency of the figures (migration 0033); null when not known. */
  currency: string | null;
  accounts_receivable: Numeric;
  accounts_payable: Numeric;
  inventory_value: Numeric | null;
  cash_balance: Numeric | null;
  working_capital: ColumnType<string, never, never>;
  current_ratio: ColumnType<string | null, never, never>;
  as_of: ColumnType<Date, Date | string, Date | string>;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
};
