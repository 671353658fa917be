import type { Clock } from '../../platform/clock.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import type { ConnectionStore } from '../connections/store.js';
import type { Outbox, OutboxItem } from '../events/outbox.js';
import { type InboundEventRow, type InboundWebhooksRepo, payloadOf } from './inbound-webhooks.repo.js';
import type { InboundWebhooksDeps } from './inbound-webhooks.service.js';

const MAX_ATTEMPTS = 5;

/** Due events grouped by tenant, in order, at most `BATCH` per group. */
const BATCH = 100;
function batchesByTenant(due: Array<{ tenantId: string; id: string }>): Array<[string, string[]]> {
  const groups = new Map<string, string[][]>();
  for (const { tenantId, id } of due) {
    const chunks = groups.get(tenantId) ?? groups.set(tenantId, [[]]).get(tenantId)!;
    if (chunks.at(-1)!.length >= BATCH) chunks.push([]);
    chunks.at(-1)!.push(id);
  }
  return [...groups].flatMap(([tenantId, chunks]) => chunks.map((ids) => [tenantId, ids] as [string, string[]]));
}

/**
 * Processing after the ack: what a stored event means for its connection, done once. Events whose
 * processing is only outbox events were processed by the store itself; these are the rest (a
 * disconnect, news about a message Keyhold sent) and any event a tenant replays.
 */
export function createInboundProcessing(deps: {
  repo: InboundWebhooksRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'byId' | 'disconnect'>;
  outbox: Pick<Outbox, 'appendMany'>;
  clock: Clock;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  onDeliveryStatus?: InboundWebhooksDeps['onDeliveryStatus'];
}) {
  const { repo, tenancy } = deps;
  type Waiting = Pick<InboundEventRow, 'id' | 'connection_id' | 'provider' | 'topic' | 'external_id' | 'effect'>;
  type Conn = NonNullable<Awaited<ReturnType<ConnectionStore['byId']>>>;

  /**
   * The `webhook.received` outbox event and the adapter's effect (a disconnect, a change notice),
   * inside the caller's transaction. Plain events are added to `pending` (written together by the
   * caller); a disconnect writes what is pending first, so events keep their order.
   */
  async function actOn(tx: TenantTx, row: Waiting, conn: Conn | undefined, pending: OutboxItem[]) {
    if (!conn) throw new Error('connection_not_found');
    const subject = { connectionId: conn.id, provider: conn.provider, label: conn.label };
    pending.push({ type: 'webhook.received', subject, payload: { topic: row.topic, externalId: row.external_id, inboundEventId: row.id } });
    if (row.effect === 'disconnected') {
      await deps.outbox.appendMany(tx, pending.splice(0));
      await deps.store.disconnect(tx, conn, { source: 'webhook', revocation: 'revoked' });
    }
    if (row.effect === 'changed') pending.push({ type: 'connection.changed', subject, payload: { source: 'webhook', topic: row.topic, inboundEventId: row.id, notices: 1 } });
    // A message Keyhold sent through this provider (an email that bounced): the payload is read only for adapters that say so.
    const deliveryStatus = deps.onDeliveryStatus && deps.adapterFor({ id: row.provider }).webhooks?.deliveryStatus;
    if (!deliveryStatus) return;
    const delivery = deliveryStatus(row.topic, payloadOf(await repo.byId(tx, row.id)));
    if (delivery) await deps.onDeliveryStatus!(tx, { provider: row.provider, ...delivery });
  }

  /** Acts on one stored event, once, in one tenant transaction that marks it processed (under its row lock). */
  async function process(tenantId: string, id: string): Promise<'processed' | 'skipped'> {
    return tenancy.withTenant(tenantId, async (tx) => {
      const row = await repo.byId(tx, id, { lock: true });
      if (!row || row.status !== 'received') return 'skipped';
      const pending: OutboxItem[] = [];
      await actOn(tx, row, await deps.store.byId(tx, row.connection_id), pending);
      await deps.outbox.appendMany(tx, pending);
      await repo.markProcessed(tx, row.id, deps.clock());
      return 'processed';
    });
  }

  /**
   * Acts on a batch of one tenant's events in one transaction (the common case: a burst of
   * deliveries costs one transaction per batch, not per event). Any failure rolls the whole batch
   * back; the drain then takes its events one by one, so one bad event fails alone.
   */
  async function processBatch(tenantId: string, ids: string[]): Promise<number> {
    return tenancy.withTenant(tenantId, async (tx) => {
      await repo.relaxCommit(tx);
      const rows = await repo.lockWaiting(tx, tenantId, ids);
      const conns = new Map<string, Conn | undefined>();
      const pending: OutboxItem[] = [];
      for (const row of rows) {
        if (!conns.has(row.connection_id)) conns.set(row.connection_id, await deps.store.byId(tx, row.connection_id));
        await actOn(tx, row, conns.get(row.connection_id), pending);
      }
      await deps.outbox.appendMany(tx, pending);
      if (rows.length > 0) await repo.markManyProcessed(tx, tenantId, rows.map((r) => r.id), deps.clock());
      return rows.length;
    });
  }

  /**
   * Records a failed attempt: retried after 5 s, 10 s, 20 s, 40 s (backoff); the 5th failure is
   * `failed` with its error (replayable). Returns whether it will be retried.
   */
  async function recordFailure(tenantId: string, id: string, err: unknown): Promise<boolean> {
    const message = (err instanceof Error ? err.message : String(err)).replace(/[^\x20-\x7e]/g, '').slice(0, 200) || 'error';
    const row = await tenancy.withTenant(tenantId, async (tx) => {
      const current = await repo.byId(tx, id, { lock: true });
      if (!current || current.status !== 'received') return undefined;
      const attempt = current.attempts + 1;
      const next = attempt >= MAX_ATTEMPTS ? null : new Date(deps.clock().getTime() + 5_000 * 2 ** (attempt - 1));
      return repo.markAttemptFailed(tx, id, message, next);
    });
    return row?.status === 'received';
  }

  /**
   * Processes every event that is due, across tenants, until none is left or `maxMs` passed. Safe
   * on every node at once: an event is processed under its row lock and only while `received`.
   */
  async function drain(opts: { maxMs?: number; batch?: number } = {}) {
    const started = Date.now();
    const stats = { processed: 0, failed: 0 };
    for (;;) {
      const due = await repo.due(deps.clock(), opts.batch ?? 200);
      if (due.length === 0) return stats;
      const before = stats.processed + stats.failed;
      for (const [tenantId, ids] of batchesByTenant(due)) {
        try {
          stats.processed += await processBatch(tenantId, ids);
          continue;
        } catch {
          // One by one below: the event that fails is retried with backoff, the others go through.
        }
        for (const id of ids) {
          try {
            if ((await process(tenantId, id)) === 'processed') stats.processed++;
          } catch (err) {
            stats.failed++;
            await recordFailure(tenantId, id, err);
          }
        }
      }
      // Nothing moved: another drain holds every due event (it skips none of them), so leave them to it.
      if (stats.processed + stats.failed === before) return stats;
      if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) return stats;
    }
  }

  return { process, recordFailure, drain };
}
