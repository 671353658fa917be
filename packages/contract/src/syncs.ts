import { z } from 'zod';

/** Syncs: provider records copied into Keyhold's records store, and the history of each run. */
export const SYNC_TRIGGERS = ['schedule', 'manual', 'webhook', 'reset'] as const;
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
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  added: z.number().int(),
  updated: z.number().int(),
  deleted: z.number().int(),
  pages: z.number().int(),
  providerCalls: z.number().int(),
  cursorFrom: ChangeCursorSchema.nullable(),
  cursorTo: ChangeCursorSchema.nullable(),
  errorCode: z.string().nullable().describe('A stable code (an error code or `http_<status>`), never a message'),
});
export type SyncRun = z.infer<typeof SyncRunSchema>;

export const SyncRunRequestedSchema = z.object({ queued: z.literal(true), connectionId: z.string().uuid(), sync: z.string(), trigger: z.enum(SYNC_TRIGGERS) });
