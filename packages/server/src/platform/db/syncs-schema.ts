import type { ColumnType, JSONColumnType } from 'kysely';

/** Kysely's view of the records store, sync history and schedules (migrations 0026, 0027). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** pg returns int8 as a string so no precision is lost. */
type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;

export const SYNC_TRIGGERS = ['schedule', 'manual', 'webhook', 'reset'] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];
export type SyncMode = 'full' | 'incremental';
export type SyncRunStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

export type RecordsTable = {
  tenant_id: string;
  connection_id: string;
  model: string;
  external_id: string;
  payload: JSONColumnType<Record<string, unknown>, string, string>;
  payload_hash: Buffer;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  seen_run_id: string;
  changed_at: Timestamp;
  deleted_at: Timestamp | null;
  change_seq: Int8;
};

export type SyncRunsTable = {
  id: string;
  tenant_id: string;
  connection_id: string;
  sync: string;
  trigger: SyncTrigger;
  mode: SyncMode;
  status: ColumnType<SyncRunStatus, SyncRunStatus | undefined, SyncRunStatus>;
  started_at: Timestamp;
  lease_until: Timestamp;
  finished_at: Timestamp | null;
  added: ColumnType<number, number | undefined, number>;
  updated: ColumnType<number, number | undefined, number>;
  deleted: ColumnType<number, number | undefined, number>;
  pages: ColumnType<number, number | undefined, number>;
  provider_calls: ColumnType<number, number | undefined, number>;
  checkpoint: string | null;
  cursor_from: Int8 | null;
  cursor_to: Int8 | null;
  error_code: string | null;
  /** 'action': a write to the provider (domains/syncs/actions.ts), migration 0029. */
  kind: ColumnType<'sync' | 'action', 'sync' | 'action' | undefined, 'sync' | 'action'>;
  idempotency_key: ColumnType<string | null, string | null | undefined, string | null>;
  result: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  input_hash: ColumnType<string | null, string | null | undefined, string | null>;
  send_attempt: ColumnType<number, number | undefined, number>;
  attempt: ColumnType<number, number | undefined, number>;
  due_at: Timestamp | null;
  rate_wait_ms: ColumnType<number, number | undefined, number>;
};

export const SCHEDULE_PAUSE_REASONS = ['needs_reauth', 'disabled'] as const;
export type SchedulePauseReason = (typeof SCHEDULE_PAUSE_REASONS)[number];

export type SyncSchedulesTable = {
  tenant_id: string;
  connection_id: string;
  sync: string;
  default_frequency_minutes: number;
  frequency_minutes: number | null;
  paused: ColumnType<boolean, boolean | undefined, boolean>;
  paused_reason: SchedulePauseReason | null;
  next_run_at: Timestamp;
  last_due_at: Timestamp | null;
  in_flight_until: Timestamp | null;
  /** Set by run-all: the next claimed run is recorded `manual` (migration 0035). */
  pending_trigger: ColumnType<'manual' | null, 'manual' | null | undefined, 'manual' | null>;
  /** The claim holding the in-flight slot: only its run releases or renews it (migration 0035). */
  in_flight_claim: ColumnType<string | null, string | null | undefined, string | null>;
};
