import { randomUUID } from 'node:crypto';
import { paginate } from '@keyhold/contract';
import type { Selectable } from 'kysely';
import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx } from '../../platform/context.js';
import type { ScopedTx, Tenancy } from '../../platform/db/tenancy.js';
import { scopeTenantId } from '../../platform/db/tenancy.js';
import { scrubSecrets } from '../../platform/secrets.js';
import { type ChainedEntry, GENESIS_HASH, chainedEntryFromRow, entryHash } from './canonical.js';
import type { AuditRepo, ChainHead, CrossTenantTx } from './audit.repo.js';
import type { AuditLogsTable } from '../../platform/db/schema.js';
import { type AuditFilter, outcomeOf } from './audit.filters.js';
import { csvRow } from './audit.csv.js';

export type AuditEntryInput = {
  /** `<entity>.<verb>`, e.g. `api_credentials.reveal`. */
  action: string;
  entity?: { type: string; id: string };
  /** Context for humans. Secret-named fields are replaced by `[REDACTED]` before storage. */
  metadata?: Record<string, unknown>;
};

export type AuditDeps = {
  repo: AuditRepo;
  tenancy: Tenancy;
  clock: Clock;
  newId?: () => string;
};

export type BrokenLink = {
  seq: number;
  /** The entry at which verification failed (absent when entries are missing from the end). */
  id?: string;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'missing_entries' | 'head_mismatch';
  detail: string;
};

export type ChainReport = { tenantId: string | null; entries: number; ok: boolean; firstBroken?: BrokenLink };

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const VERIFY_PAGE = 1000;

export function createAuditService(deps: AuditDeps) {
  const newId = deps.newId ?? randomUUID;

  /** The next link of a chain: the entry after `head`, hashed. */
  function chainedRow(ctx: PrincipalCtx, input: AuditEntryInput, head: ChainHead) {
    if (!ACTION.test(input.action)) throw new Error(`audit action '${input.action}' is not <entity>.<verb>`);
    const entry: ChainedEntry = {
      id: newId(),
      tenantId: ctx.tenantId,
      seq: head.lastSeq + 1,
      actorType: ctx.actor.type,
      actorId: ctx.actor.id,
      action: input.action,
      entityType: input.entity?.type ?? null,
      entityId: input.entity?.id ?? null,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent?.slice(0, 512) ?? null,
      requestId: ctx.requestId ?? null,
      metadata: (scrubSecrets(input.metadata ?? {}) as Record<string, unknown>),
      createdAt: deps.clock().toISOString(),
    };
    const hash = entryHash(head.lastHash, entry);
    return {
      id: entry.id,
      tenant_id: entry.tenantId,
      seq: entry.seq,
      actor_type: entry.actorType,
      actor_id: entry.actorId,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      ip: entry.ip,
      user_agent: entry.userAgent,
      request_id: entry.requestId,
      metadata: JSON.stringify(entry.metadata),
      created_at: entry.createdAt,
      prev_hash: head.lastHash,
      hash,
    };
  }

  /**
   * Appends an entry to the principal's chain. Pass the caller's transaction so the entry commits
   * or rolls back with the action it describes; without one, it commits on its own.
   */
  async function record(ctx: PrincipalCtx, input: AuditEntryInput, tx?: ScopedTx): Promise<{ id: string; seq: number }> {
    if (!ACTION.test(input.action)) throw new Error(`audit action '${input.action}' is not <entity>.<verb>`);
    if (tx && scopeTenantId(tx) !== ctx.tenantId) throw new Error('audit entry tenant differs from the transaction tenant');
    if (!tx) {
      return ctx.tenantId === null
        ? deps.tenancy.withPlatform((t) => record(ctx, input, t))
        : deps.tenancy.withTenant(ctx.tenantId, (t) => record(ctx, input, t));
    }
    const head = await deps.repo.lockHead(tx, ctx.tenantId);
    const row = chainedRow(ctx, input, head);
    await deps.repo.append(tx, row);
    await deps.repo.advanceHead(tx, ctx.tenantId, { lastSeq: row.seq, lastHash: row.hash });
    return { id: row.id, seq: row.seq };
  }

  /**
   * Appends one entry to each of many tenants' chains in the caller's cross-tenant batch
   * transaction (master-key rotation): heads are locked in tenant-id order and every row is
   * written under its own tenant's context, so each chain stays exactly as `record` keeps it.
   */
  async function recordEach(tx: CrossTenantTx, items: Array<{ ctx: PrincipalCtx & { tenantId: string }; input: AuditEntryInput }>) {
    const sorted = [...items].sort((a, b) => (a.ctx.tenantId < b.ctx.tenantId ? -1 : a.ctx.tenantId > b.ctx.tenantId ? 1 : 0));
    if (new Set(sorted.map((i) => i.ctx.tenantId)).size !== sorted.length) throw new Error('recordEach takes one entry per tenant');
    if (sorted.length === 0) return;
    const heads = await deps.repo.lockHeads(tx, sorted.map((i) => i.ctx.tenantId));
    await deps.repo.appendEach(tx, sorted.map((i) => chainedRow(i.ctx, i.input, heads.get(i.ctx.tenantId)!)));
  }

  /**
   * Records an entry unless the same actor already has one for this action and entity within
   * `windowMs` — for high-volume machine reads, which are audited hourly, not per call.
   */
  async function recordAtMostEvery(windowMs: number, ctx: PrincipalCtx, input: AuditEntryInput & { entity: { type: string; id: string } }, tx: ScopedTx) {
    const since = new Date(deps.clock().getTime() - windowMs);
    if (await deps.repo.recentExists(tx, { action: input.action, entityId: input.entity.id, actorId: ctx.actor.id, since })) return;
    await record(ctx, input, tx);
  }

  /** Recomputes one chain from its first entry and reports the first broken link. */
  async function verifyChain(tenantId: string | null): Promise<ChainReport> {
    const run = (fn: (tx: ScopedTx) => Promise<ChainReport>) =>
      tenantId === null ? deps.tenancy.withPlatform(fn) : deps.tenancy.withTenant(tenantId, fn);
    return run(async (tx) => {
      let prevHash = GENESIS_HASH;
      let prevId: string | undefined;
      let expectedSeq = 1;
      let entries = 0;
      const broken = (firstBroken: BrokenLink): ChainReport => ({ tenantId, entries, ok: false, firstBroken });
      for (;;) {
        const rows = await deps.repo.pageChain(tx, tenantId, expectedSeq - 1, VERIFY_PAGE);
        for (const row of rows) {
          const seq = Number(row.seq);
          if (seq !== expectedSeq) {
            return broken({ seq: expectedSeq, id: row.id, reason: 'missing_entries', detail: `entries ${expectedSeq}..${seq - 1} are missing before entry ${seq} (${row.id})` });
          }
          if (row.prev_hash !== prevHash) {
            return broken({
              seq: seq - 1,
              id: prevId ?? row.id,
              reason: 'prev_hash_mismatch',
              detail: seq === 1
                ? `entry 1 (${row.id}) does not start from the genesis hash`
                : `entry ${seq - 1} (${prevId}) was altered or replaced: entry ${seq} (${row.id}) no longer links to it`,
            });
          }
          const recomputed = entryHash(prevHash, chainedEntryFromRow(row));
          if (recomputed !== row.hash) {
            return broken({ seq, id: row.id, reason: 'hash_mismatch', detail: `entry ${seq} (${row.id}) was altered after it was written` });
          }
          prevHash = row.hash;
          prevId = row.id;
          expectedSeq = seq + 1;
          entries++;
        }
        if (rows.length < VERIFY_PAGE) break;
      }
      const head = await deps.repo.getHead(tx, tenantId);
      const lastSeq = expectedSeq - 1;
      if (head && (head.lastSeq !== lastSeq || head.lastHash !== prevHash)) {
        return broken({ seq: lastSeq + 1, reason: 'head_mismatch', detail: `the chain head records ${head.lastSeq} entries but ${lastSeq} remain: entries were removed from the end` });
      }
      if (!head && entries > 0) {
        return broken({ seq: 1, reason: 'head_mismatch', detail: 'the chain head is missing' });
      }
      return { tenantId, entries, ok: true };
    });
  }

  /** Verifies one tenant's chain, or every tenant's chain and the platform chain. */
  async function verify(opts: { tenantId?: string } = {}): Promise<ChainReport[]> {
    if (opts.tenantId) return [await verifyChain(opts.tenantId)];
    const reports: ChainReport[] = [await verifyChain(null)];
    for (const id of await deps.repo.chainTenantIds()) reports.push(await verifyChain(id));
    return reports;
  }

  /** A page of the tenant's audit log, newest first. */
  async function list(tenantId: string, opts: { page: number; limit: number } & AuditFilter) {
    const { page, limit, ...filter } = opts;
    const { rows, total } = await deps.tenancy.withTenant(tenantId, (tx) => deps.repo.page(tx, tenantId, { limit, offset: (page - 1) * limit, filter }));
    return { items: rows.map(toEntry), pagination: paginate(page, limit, total) };
  }

  /**
   * The filtered log as CSV, newest first, at most `EXPORT_MAX_ROWS` entries (`truncated` says
   * whether older ones were left out); read in pages so one export holds no long transaction.
   */
  async function exportCsv(tenantId: string, filter: AuditFilter): Promise<{ csv: string; rows: number; truncated: boolean }> {
    let csv = csvRow(EXPORT_COLUMNS);
    let rows = 0;
    let before: number | null = null;
    const page = (n: number) => deps.tenancy.withTenant(tenantId, (tx) => deps.repo.pageBefore(tx, tenantId, filter, before, n));
    for (;;) {
      const want = Math.min(EXPORT_PAGE, EXPORT_MAX_ROWS - rows);
      const batch = await page(want);
      for (const r of batch) {
        const e = toEntry(r);
        csv += csvRow([e.createdAt, e.seq, e.action, e.outcome, e.actor.type, e.actor.id, e.entity?.type, e.entity?.id, e.ip, e.userAgent, e.requestId, JSON.stringify(e.metadata)]);
      }
      rows += batch.length;
      if (batch.length < want) return { csv, rows, truncated: false };
      before = Number(batch[batch.length - 1]!.seq);
      // At the cap: truncated only if an older entry is left out.
      if (rows >= EXPORT_MAX_ROWS) return { csv, rows, truncated: (await page(1)).length > 0 };
    }
  }

  return { record, recordEach, recordAtMostEvery, verify, list, exportCsv };
}

export type AuditService = ReturnType<typeof createAuditService>;

export const EXPORT_MAX_ROWS = 10_000;
const EXPORT_PAGE = 1000;
const EXPORT_COLUMNS = ['created_at', 'seq', 'action', 'outcome', 'actor_type', 'actor_id', 'entity_type', 'entity_id', 'ip', 'user_agent', 'request_id', 'metadata'];

function toEntry(r: Selectable<AuditLogsTable>) {
  return {
    id: r.id,
    seq: Number(r.seq),
    action: r.action,
    outcome: outcomeOf(r.action),
    actor: { type: r.actor_type, id: r.actor_id },
    entity: r.entity_type ? { type: r.entity_type, id: r.entity_id } : null,
    ip: r.ip,
    userAgent: r.user_agent,
    requestId: r.request_id,
    metadata: r.metadata,
    createdAt: r.created_at.toISOString(),
  };
}
