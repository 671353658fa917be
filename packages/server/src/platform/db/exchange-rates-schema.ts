import type { ColumnType } from 'kysely';

/** Kysely's view of the exchange-rate module's tables (migration 0029). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** `date` columns come back as 'YYYY-MM-DD' strings (the pool's type parser). */
type DateOnly = ColumnType<string, string, string>;

export type ExchangeRateSettingsTable = {
  tenant_id: string;
  connection_id: string;
  enabled: boolean;
  currencies: string[] | null;
  updated_at: Timestamp;
};

export type ExchangeRatesTable = {
  tenant_id: string;
  connection_id: string;
  currency: string;
  rate_date: DateOnly;
  home_currency: string;
  /** numeric: a string, so no precision is lost. */
  rate: ColumnType<string, string | number, string | number>;
  source: string;
  synced_at: Timestamp | null;
  action_run_id: string | null;
  error_code: string | null;
  updated_at: Timestamp;
};

export type ExchangeRateRunsTable = {
  id: string;
  tenant_id: string;
  connection_id: string;
  rate_date: DateOnly;
  trigger: 'manual' | 'schedule';
  status: 'succeeded' | 'failed' | 'skipped';
  rates_synced: number;
  error_code: string | null;
  started_at: Timestamp;
  finished_at: Timestamp;
};
