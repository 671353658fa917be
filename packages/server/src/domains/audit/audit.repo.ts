import type { Insertable, Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { AuditLogsTable, Database } from '../../platform/db/schema.js';
import type { ScopedTx } from '../../platform/db/tenancy.js';
import { GENESIS_HASH } from './canonical.js';
import { type AuditFilter, FAILURE_ACTION_PATTERN } from './audit.filters.js';

/** The tenant's entries matching a filter (the tenant named as well as enforced by RLS). */
function filtered(tx: ScopedTx, tenantId: string, f: AuditFilter) {
  let q = tx.selectFrom('audit_logs').where('tenant_id', '=', tenantId);
  if (f.action?.endsWith('.*')) q = q.where('action', 'like', `${f.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
  else if (f.action) q = q.where('action', '=', f.action);
  if (f.actorType) q = q.where('actor_type', '=', f.actorType);
  if (f.actorId) q = q.where('actor_id', '=', f.actorId);
  if (f.entityId) q = q.where('entity_id', '=', f.entityId);
  if (f.outcome) q = q.where(sql<boolean>`(action ~ ${FAILURE_ACTION_PATTERN}) = ${f.outcome === 'failure'}`);
  if (f.from) q = q.where('created_at', '>=', new Date(f.from));
  if (f.to) q = q.where('created_at', '<', new Date(f.to));
  return q;
}

export type ChainHead = { lastSeq: number; lastHash: string };
/**
 * A transaction with no tenant of its own, for batch work across tenants (master-key rotation):
 * only the SQL functions of migration 0045 run in it, and they enter each tenant's context in turn.
 */
export type CrossTenantTx = Transaction<Database>;

export function createAuditRepo(db: Kysely<Database>) {
  const chainOf = (tenantId: string | null) => (tenantId === null ? sql<boolean>`tenant_id is null` : sql<boolean>`tenant_id = ${tenantId}`);

  return {
    /** Locks the chain's head row for the rest of the transaction, creating it on first use. */
    async lockHead(tx: ScopedTx, tenantId: string | null): Promise<ChainHead> {
      await tx
        .insertInto('audit_chain_heads')
        .values({ tenant_id: tenantId, last_seq: 0, last_hash: GENESIS_HASH })
        .onConflict((oc) => oc.constraint('audit_chain_heads_tenant').doNothing())
        .execute();
      const head = await tx
        .selectFrom('audit_chain_heads')
        .select(['last_seq', 'last_hash'])
        .where(chainOf(tenantId))
        .forUpdate()
        .executeTakeFirstOrThrow();
      return { lastSeq: Number(head.last_seq), lastHash: head.last_hash };
    },

    async getHead(tx: ScopedTx, tenantId: string | null): Promise<ChainHead | undefined> {
      const head = await tx.selectFrom('audit_chain_heads').select(['last_seq', 'last_hash']).where(chainOf(tenantId)).executeTakeFirst();
      return head && { lastSeq: Number(head.last_seq), lastHash: head.last_hash };
    },

    async append(tx: ScopedTx, row: Insertable<AuditLogsTable>) {
      await tx.insertInto('audit_logs').values(row).execute();
    },

    async advanceHead(tx: ScopedTx, tenantId: string | null, head: ChainHead) {
      await tx
        .updateTable('audit_chain_heads')
        .set({ last_seq: head.lastSeq, last_hash: head.lastHash, updated_at: new Date() })
        .where(chainOf(tenantId))
        .execute();
    },

    /** Locks (creating on first use) many tenants' chain heads, in the order given. */
    async lockHeads(tx: CrossTenantTx, tenantIds: string[]): Promise<Map<string, ChainHead>> {
      const { rows } = await sql<{ tenant_id: string; last_seq: string; last_hash: string }>`
        select tenant_id, last_seq, last_hash from keyhold_lock_audit_heads(${tenantIds}::uuid[])`.execute(tx);
      return new Map(rows.map((r) => [r.tenant_id, { lastSeq: Number(r.last_seq), lastHash: r.last_hash }]));
    },

    /** Appends entries of chains whose heads `lockHeads` holds, and advances those heads. */
    async appendEach(tx: CrossTenantTx, rows: Array<Insertable<AuditLogsTable>>) {
      await sql`select keyhold_append_audit_entries(${JSON.stringify(rows.map((r) => ({ ...r, metadata: JSON.parse(String(r.metadata)) })))}::jsonb)`.execute(tx);
    },

    /** One page of a chain in order, for verification. */
    pageChain(tx: ScopedTx, tenantId: string | null, afterSeq: number, limit: number) {
      return tx
        .selectFrom('audit_logs')
        .selectAll()
        .where(chainOf(tenantId))
        .where('seq', '>', String(afterSeq))
        .orderBy('seq')
        .limit(limit)
        .execute();
    },

    /** Whether this actor already has an entry for this action and entity since `since`. */
    recentExists: async (tx: ScopedTx, f: { action: string; entityId: string; actorId: string | null; since: Date }) =>
      (await tx
        .selectFrom('audit_logs')
        .select('id')
        .where('action', '=', f.action)
        .where('entity_id', '=', f.entityId)
        .where((eb) => (f.actorId === null ? eb('actor_id', 'is', null) : eb('actor_id', '=', f.actorId)))
        .where('created_at', '>', f.since)
        .limit(1)
        .executeTakeFirst()) !== undefined,

    /** Newest first, for people reading the log. */
    async page(tx: ScopedTx, tenantId: string, opts: { limit: number; offset: number; filter: AuditFilter }) {
      const q = filtered(tx, tenantId, opts.filter);
      const [rows, total] = await Promise.all([
        q.selectAll().orderBy('seq', 'desc').limit(opts.limit).offset(opts.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },

    /** Newest first by seq below `beforeSeq` (keyset paging, for exports that read many pages). */
    pageBefore: (tx: ScopedTx, tenantId: string, filter: AuditFilter, beforeSeq: number | null, limit: number) => {
      let q = filtered(tx, tenantId, filter);
      if (beforeSeq !== null) q = q.where('seq', '<', String(beforeSeq));
      return q.selectAll().orderBy('seq', 'desc').limit(limit).execute();
    },

    /** Every tenant with an audit chain (ids only, via the SECURITY DEFINER function). */
    async chainTenantIds(): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`select keyhold_audit_chain_tenant_ids() as id`.execute(db);
      return rows.map((r) => r.id);
    },
  };
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;
