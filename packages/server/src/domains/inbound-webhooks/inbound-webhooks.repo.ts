import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { Database, InboundEventsTable, InboundQuarantineTable, InboundStatus } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type InboundEventRow = Selectable<InboundEventsTable>;

/** A stored event's payload: its own, or its raw body's when that was the payload (null once the raw body is pruned). */
export function payloadOf(row: Pick<InboundEventRow, 'payload' | 'raw_body'> | undefined): unknown {
  if (!row) return undefined;
  if (row.payload !== null || !row.raw_body) return row.payload;
  try {
    return JSON.parse(Buffer.from(row.raw_body).toString('utf8'));
  } catch {
    return null;
  }
}

export type Route = { tenantId: string; connectionId: string };

/** A row for `storeEvents`: payload and headers as JSON values, the routing key it was routed by (null for a token route). */
export type StoreRow = {
  id: string; tenant_id: string; connection_id: string; provider: string; topic: string; external_id: string;
  /** Absent: the raw body is the payload (stored once). */
  payload?: unknown; raw_body: Buffer | null; headers: Record<string, string>; received_at: Date; effect: string | null; routing_key: string | null;
  /** Processed in the store's own transaction: its outbox events get these ids (UUIDv7, made by the caller). */
  announce?: { received_event_id: string; changed_event_id: string };
};

/**
 * A row with its JSON made ahead of the write: when its delivery arrives, typically while another
 * write runs, so that the write only joins the parts (its raw body's slice goes in then).
 */
export type PreparedStoreRow = { id: string; raw_body: Buffer | null; json: string };

export function prepareStoreRow(r: StoreRow): PreparedStoreRow {
  const { announce, raw_body, ...rest } = r;
  return { id: r.id, raw_body, json: JSON.stringify({ ...rest, ...(announce ? { announce: true, ...announce } : {}), received_at: r.received_at.toISOString() }) };
}

/** The only SQL for `inbound_events` and `inbound_quarantine`. */
export function createInboundWebhooksRepo(db: Kysely<Database>) {
  /** `storeEvents` with rows prepared ahead (`prepareStoreRow`): the group writer's write. */
  async function storePrepared(rows: PreparedStoreRow[]): Promise<Array<{ id: string; owned: boolean; stored: boolean }>> {
    if (rows.length === 0) return [];
    // The raw bodies go end to end in one binary parameter, each row naming its slice (1-based
    // start, length); rows cut from one delivery share one copy.
    const bodies: Buffer[] = [];
    const slices = new Map<Buffer, string>();
    let end = 0;
    const sliceOf = (raw: Buffer) => {
      let slice = slices.get(raw);
      if (!slice) {
        slice = `[${end + 1},${raw.length}]`;
        slices.set(raw, slice);
        bodies.push(raw);
        end += raw.length;
      }
      return slice;
    };
    // Each prepared JSON is an object with fields; the slice is put in front of them.
    const json = `[${rows.map((r) => `{"body":${r.raw_body ? sliceOf(r.raw_body) : 'null'},${r.json.slice(1)}`).join(',')}]`;
    const { rows: out } = await sql<{ id: string; owned: boolean; stored: boolean }>`select * from keyhold_store_inbound_events(${json}::jsonb, ${Buffer.concat(bodies, end)}::bytea)`.execute(db);
    const byId = new Map(out.map((r) => [r.id, r]));
    return rows.map((r) => byId.get(r.id) ?? { id: r.id, owned: false, stored: false });
  }

  return {
    /**
     * Which connections hold these routing keys (any tenant, ignoring case): ids only, through a
     * SECURITY DEFINER function, as the routing key's global uniqueness is the only thing that
     * crosses tenants. The delivery is then stored inside each tenant's own context.
     */
    async routesByKey(provider: string, keys: string[]): Promise<Map<string, Route>> {
      const { rows } = await sql<{ routing_key: string; tenant_id: string; connection_id: string }>`
        select * from keyhold_webhook_route_by_key(${provider}, ${keys}::text[])`.execute(db);
      return new Map(rows.map((r) => [r.routing_key, { tenantId: r.tenant_id, connectionId: r.connection_id }]));
    },
    async routeByToken(provider: string, token: string): Promise<Route | undefined> {
      const { rows } = await sql<{ tenant_id: string; connection_id: string }>`
        select * from keyhold_webhook_route_by_token(${provider}, ${token})`.execute(db);
      return rows[0] && { tenantId: rows[0].tenant_id, connectionId: rows[0].connection_id };
    },

    /** Stores what is new; a redelivery (same tenant, provider, external id) writes nothing. Returns the new ids. */
    async insertEvents(tx: TenantTx, rows: Insertable<InboundEventsTable>[]): Promise<string[]> {
      if (rows.length === 0) return [];
      const inserted = await tx.insertInto('inbound_events').values(rows)
        .onConflict((oc) => oc.constraint('inbound_events_once').doNothing()).returning('id').execute();
      return inserted.map((r) => r.id);
    },
    /**
     * Stores rows of any tenants in one call (`keyhold_store_inbound_events(jsonb, bytea)`, migration 0048):
     * each tenant's rows inside that tenant's RLS context, one transaction for all. A row routed by
     * a routing key is written only if that connection still holds the key; each row comes back as
     * `owned` (the check passed) and `stored` (new, not a redelivery), in the order given.
     */
    storeEvents: (rows: StoreRow[]) => storePrepared(rows.map(prepareStoreRow)),
    storePrepared,
    /** Platform level: no tenant context is needed or set (the table has none). */
    async insertQuarantine(rows: Insertable<InboundQuarantineTable>[]): Promise<number> {
      if (rows.length === 0) return 0;
      const inserted = await db.insertInto('inbound_quarantine').values(rows)
        .onConflict((oc) => oc.constraint('inbound_quarantine_once').doNothing()).returning('id').execute();
      return inserted.length;
    },
    async quarantinePage(limit: number, offset: number) {
      const [rows, total] = await Promise.all([
        db.selectFrom('inbound_quarantine').select(['id', 'provider', 'routing_key', 'topic', 'external_id', 'received_at'])
          .orderBy('received_at', 'desc').orderBy('id').limit(limit).offset(offset).execute(),
        db.selectFrom('inbound_quarantine').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },
    quarantined: (id: string) => db.selectFrom('inbound_quarantine').selectAll().where('id', '=', id).executeTakeFirst(),
    /** Deleted by whoever moves it first (two replays at once move it once). */
    releaseQuarantined: (id: string) => db.deleteFrom('inbound_quarantine').where('id', '=', id).returning('id').executeTakeFirst(),

    byId: (tx: TenantTx, id: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('inbound_events').selectAll().where('id', '=', id);
      return (opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    async page(tx: TenantTx, f: { provider?: string; topic?: string; status?: InboundStatus; since?: Date; limit: number; offset: number }) {
      let q = tx.selectFrom('inbound_events');
      if (f.provider) q = q.where('provider', '=', f.provider);
      if (f.topic) q = q.where('topic', '=', f.topic);
      if (f.status) q = q.where('status', '=', f.status);
      if (f.since) q = q.where('received_at', '>=', f.since);
      const [rows, total] = await Promise.all([
        q.select(['id', 'connection_id', 'provider', 'topic', 'external_id', 'received_at', 'status', 'attempts', 'last_error', 'processed_at'])
          .orderBy('received_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },
    /**
     * A batch of this tenant's events still waiting, locked for processing; rows another drain holds
     * are skipped, not waited for. Only what processing reads (never the bodies).
     */
    lockWaiting: (tx: TenantTx, tenantId: string, ids: string[]) =>
      tx.selectFrom('inbound_events').select(['id', 'connection_id', 'provider', 'topic', 'external_id', 'effect'])
        .where('tenant_id', '=', tenantId).where('id', 'in', ids).where('status', '=', 'received')
        .orderBy('received_at').orderBy('id').forUpdate().skipLocked().execute(),
    markManyProcessed: (tx: TenantTx, tenantId: string, ids: string[], at: Date) =>
      tx.updateTable('inbound_events').set((eb) => ({ status: 'processed', processed_at: at, last_error: null, attempts: eb('attempts', '+', 1) }))
        .where('tenant_id', '=', tenantId).where('id', 'in', ids).execute(),
    /**
     * Processing commits without waiting for its WAL flush. Safe here: a processing transaction lost
     * to a database crash loses all of itself (the event is still `received`, its outbox events
     * and effect are gone with it) and is simply done again; and any later synchronous commit —
     * such as the outbox drain handing its events on — flushes the WAL up to and past it first.
     * The store before the ack never does this.
     */
    relaxCommit: (tx: TenantTx) => sql`set local synchronous_commit = off`.execute(tx),
    markProcessed: (tx: TenantTx, id: string, at: Date) =>
      tx.updateTable('inbound_events').set((eb) => ({ status: 'processed', processed_at: at, last_error: null, attempts: eb('attempts', '+', 1) })).where('id', '=', id).execute(),
    markAttemptFailed: (tx: TenantTx, id: string, error: string, next: Date | null) =>
      tx.updateTable('inbound_events').set((eb) => ({ last_error: error, attempts: eb('attempts', '+', 1), next_attempt_at: next, ...(next ? {} : { status: 'failed' as const }) })).where('id', '=', id)
        .returning(['attempts', 'status']).executeTakeFirst(),
    resetForReplay: (tx: TenantTx, id: string) =>
      tx.updateTable('inbound_events').set({ status: 'received', attempts: 0, last_error: null, processed_at: null, next_attempt_at: null }).where('id', '=', id).returning('id').executeTakeFirst(),

    /** Events due for processing, oldest first (ids only, across tenants). */
    async due(now: Date, limit: number): Promise<Array<{ tenantId: string; id: string }>> {
      const { rows } = await sql<{ tenant_id: string; id: string }>`select * from keyhold_due_inbound_events(${now}, ${limit})`.execute(db);
      return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
    },
    async prune(rawBefore: Date, rowsBefore: Date): Promise<number> {
      const { rows } = await sql<{ n: number }>`select keyhold_prune_inbound_events(${rawBefore}, ${rowsBefore}) as n`.execute(db);
      return rows[0]?.n ?? 0;
    },
  };
}
export type InboundWebhooksRepo = ReturnType<typeof createInboundWebhooksRepo>;
