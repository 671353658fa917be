import { z } from 'zod';

/** Syncs: provider records copied into Keyhold's records store, and the history of each run. */
export const SYNC_TRIGGERS = ['schedule', 'manual', 'webhook', 'reset'] as const;
export const SYNC_RUN_STATUSES = ['running', 'succeeded', 'failed', 'skipped'] as const;
export const SyncNameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/);
/** A position in the change feed (opaque to clients; a decimal string). */
export const ChangeCursorSchema = z.string().regex(/^\d{1,19}$/).refine((v) => /^\d{1,19}$/.test(v) && BigInt(v) <= 9223372036854775807n, 'out of range'); // int8, as stored

/** One record of the change feed: its latest version, or its deletion (`deletedAt` set). */
export const SyncedRecordSchema = z.object({
  connectionId: z.string().uuid(),
  model: z.string(),
  externalId: z.string(),
  payload: z.record(z.string(), z.unknown()).describe("The provider's record as the reader validated it"),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  changedAt: z.string(),
  deletedAt: z.string().nullable(),
  cursor: ChangeCursorSchema,
});
export type SyncedRecord = z.infer<typeof SyncedRecordSchema>;

export const RecordsPageSchema = z.object({
  success: z.literal(true),
  data: z.array(SyncedRecordSchema),
  /** Pass as `cursor` for the next page; the same cursor again when nothing changed since. */
  cursor: z.object({ next: ChangeCursorSchema, hasMore: z.boolean() }),
});

export const SyncRunSchema = z.object({
  id: z.string().uuid(),
  /** 'action': a write to the provider (its `sync` is the action's name). */
  kind: z.enum(['sync', 'action']),
  connectionId: z.string().uuid(),
  sync: z.string(),
  trigger: z.enum(SYNC_TRIGGERS),
  mode: z.enum(['full', 'incremental']),
  status: z.enum(SYNC_RUN_STATUSES).describe('`skipped`: not started, the connection cannot be used (`errorCode` says why)'),
  attempt: z.number().int().describe('1 for the first attempt; a failed scheduled or webhook run is retried with backoff'),
  dueAt: z.string().nullable().describe('When a scheduled run was due (its queue wait is `startedAt - dueAt`)'),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  added: z.number().int(),
  updated: z.number().int(),
  deleted: z.number().int(),
  pages: z.number().int(),
  providerCalls: z.number().int(),
  rateWaitMs: z.number().int().describe("Time the run's provider calls waited for the connection's rate limits (shared with live traffic)"),
  cursorFrom: ChangeCursorSchema.nullable(),
  cursorTo: ChangeCursorSchema.nullable(),
  errorCode: z.string().nullable().describe('A stable code (an error code or `http_<status>`), never a message'),
});
export type SyncRun = z.infer<typeof SyncRunSchema>;

export const SyncRunRequestedSchema = z.object({ queued: z.literal(true), connectionId: z.string().uuid(), sync: z.string(), trigger: z.enum(SYNC_TRIGGERS) });

/** A tenant's schedule of one sync of one connection (`PUT /api/syncs/:connectionId/:sync/schedule`). */
export const SyncScheduleBodySchema = z.strictObject({
  frequencyMinutes: z.number().int().min(5).max(525600).nullable().optional().describe("Minutes between scheduled runs; null: the sync's default"),
  paused: z.boolean().optional().describe('Paused by a person: no scheduled runs (manual runs and change notices still run)'),
}).refine((b) => b.frequencyMinutes !== undefined || b.paused !== undefined, 'Give frequencyMinutes or paused');
export type SyncScheduleBody = z.infer<typeof SyncScheduleBodySchema>;

/** The state of one sync of one connection (`GET /api/syncs`, paginated: `page`, `limit` ≤ 500, default 100). */
export const SyncStateSchema = z.object({
  connectionId: z.string().uuid(),
  provider: z.string(),
  label: z.string(),
  sync: z.string(),
  model: z.string(),
  frequency: z.object({
    effectiveMinutes: z.number().int(),
    overrideMinutes: z.number().int().nullable().describe("The tenant's override; null: the sync's default"),
    defaultMinutes: z.number().int(),
  }),
  paused: z.boolean().describe('Paused by a person'),
  pausedReason: z.enum(['needs_reauth', 'disabled']).nullable().describe('Paused by Keyhold until the connection can be used again'),
  nextRunAt: z.string().nullable().describe('Null while paused'),
  lastRun: z.object({
    id: z.string().uuid(), status: z.enum(SYNC_RUN_STATUSES), trigger: z.enum(SYNC_TRIGGERS), finishedAt: z.string().nullable(), errorCode: z.string().nullable(),
  }).nullable(),
  lastSuccessAt: z.string().nullable(),
});
export type SyncState = z.infer<typeof SyncStateSchema>;

export const SyncRunAllSchema = z.object({ queued: z.number().int().describe('Runs queued: every sync of every active connection') });
