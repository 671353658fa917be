import pg from 'pg';
import { expect, inject } from 'vitest';
import { OUTBOX_EVENT_OF } from '../domains/connections/store.js';
import type { ConnectionEventType } from '../platform/db/schema.js';

/** A tenant's connection events and outbox events in order, each with the transaction that wrote it (xmin). */
export async function ledger(tenantId: string, adminUrl = inject('adminUrl')) {
  const c = new pg.Client({ connectionString: adminUrl });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const changes = (await c.query<{ type: ConnectionEventType; connection_id: string; detail: Record<string, unknown>; tx: string }>(
      'select type, connection_id, detail, xmin::text as tx from connection_events where tenant_id = $1 order by id', [tenantId])).rows;
    const events = (await c.query<{ id: string; type: string; subject: { connectionId: string }; payload: Record<string, unknown>; tx: string }>(
      'select id, type, subject, payload, xmin::text as tx from events where tenant_id = $1 order by id', [tenantId])).rows;
    const rows = (await c.query<{ id: string; status: string; tx: string }>('select id, status, xmin::text as tx from connections where tenant_id = $1', [tenantId])).rows;
    return { changes, events, rows };
  } finally {
    await c.end();
  }
}

/**
 * Asserts what one step wrote: exactly the connection events `reasons`, each with its outbox event
 * (same type mapping, same payload) written by the same transaction — which also wrote the
 * connection's row, unless the step deleted it.
 */
export async function expectStep<T>(tenantId: string, reasons: ConnectionEventType[], step: () => Promise<T>, adminUrl?: string): Promise<T> {
  const before = await ledger(tenantId, adminUrl);
  const result = await step();
  const after = await ledger(tenantId, adminUrl);
  const changes = after.changes.slice(before.changes.length);
  const events = after.events.slice(before.events.length);
  expect(changes.map((c) => c.type), 'connection events written by this step').toEqual(reasons);
  expect(events.map((e) => e.type), 'outbox events written by this step').toEqual(reasons.map((r) => OUTBOX_EVENT_OF[r].type));
  changes.forEach((c, i) => {
    const e = events[i]!;
    expect([e.tx, e.subject.connectionId, e.payload]).toEqual([c.tx, c.connection_id, c.detail]);
    const row = after.rows.find((r) => r.id === c.connection_id);
    if (c.type !== 'deleted') expect(row?.tx, 'the connection row was written by the same transaction').toBe(c.tx);
    else expect(row).toBeUndefined();
  });
  return result;
}
