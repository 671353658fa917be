import { type Kysely, type Selectable, type Updateable, sql } from 'kysely';
import type { Database, WebhookDeliveriesTable, WebhookDeliveryAttemptsTable, WebhookEndpointsTable } from '../../platform/db/schema.js';
import { literal } from '../../platform/db/one-trip.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type EndpointRow = Selectable<WebhookEndpointsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type AttemptRow = Selectable<WebhookDeliveryAttemptsTable>;
export type NewDelivery = { id: string; tenant_id: string; endpoint_id: string; event_id: string | null; event_type: string; body: string; next_attempt_at: Date; created_at: Date };
/** Delivery columns without the body (lists never carry payloads). */
const DELIVERY_META = ['id', 'endpoint_id', 'event_id', 'event_type', 'status', 'attempts', 'next_attempt_at', 'last_status', 'last_error', 'created_at', 'finished_at'] as const;

/** One tenant's write in one round trip (`writeAsTenant` of platform/db/one-trip.ts). */
export type WriteAsTenant = <T>(tenantId: string, statement: string) => Promise<T[]>;
const sqlValue = (v: string | number | Date | null) =>
  v === null ? 'null' : typeof v === 'number' ? String(Math.trunc(v)) : v instanceof Date ? `${literal(v.toISOString())}::timestamptz` : literal(v);

/** The only SQL for `webhook_endpoints`, `webhook_deliveries` and `webhook_delivery_attempts`. */
export function createWebhookEndpointsRepo(db: Kysely<Database>, writeAsTenant?: WriteAsTenant) {
  return {
    insertEndpoint: (tx: TenantTx, row: Omit<EndpointRow, 'previous_secret' | 'previous_secret_until' | 'failing_since' | 'disabled_reason'>) =>
      tx.insertInto('webhook_endpoints').values(row).execute(),
    /** Serializes a tenant's endpoint creations until commit, so the count below holds (the cap). */
    lockTenantEndpoints: (tx: TenantTx, tenantId: string) =>
      sql`select pg_advisory_xact_lock(hashtextextended(${`webhook_endpoints:${tenantId}`}, 0))`.execute(tx).then(() => undefined),
    countEndpoints: async (tx: TenantTx, tenantId: string) =>
      Number((await tx.selectFrom('webhook_endpoints').where('tenant_id', '=', tenantId).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
    listEndpoints: (tx: TenantTx, tenantId: string) =>
      tx.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute(),
    enabledEndpoints: (tx: TenantTx, tenantId: string) =>
      tx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('tenant_id', '=', tenantId).where('enabled', '=', true).execute(),
    findEndpoint: (tx: TenantTx, tenantId: string, id: string, opts: { lock?: boolean } = {}) => {
      const q = tx.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
      return (opts.lock ? q.forUpdate() : q).executeTakeFirst();
    },
    updateEndpoint: (tx: TenantTx, tenantId: string, id: string, set: Updateable<WebhookEndpointsTable>) =>
      tx.updateTable('webhook_endpoints').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst(),
    deleteEndpoint: async (tx: TenantTx, tenantId: string, id: string) =>
      (await tx.deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n,

    /** A redelivered event (the drain is at least once too) adds no second delivery. */
    async insertDeliveries(tx: TenantTx, rows: NewDelivery[]) {
      // Chunks keep each statement well under Postgres's 65,535 parameters.
      for (let i = 0; i < rows.length; i += 1000) {
        await tx.insertInto('webhook_deliveries').values(rows.slice(i, i + 1000)).onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing()).execute();
      }
    },
    async pageDeliveries(tx: TenantTx, tenantId: string, f: { endpointId: string; status?: string; limit: number; offset: number }) {
      let q = tx.selectFrom('webhook_deliveries').where('tenant_id', '=', tenantId).where('endpoint_id', '=', f.endpointId);
      if (f.status) q = q.where('status', '=', f.status as never);
      const [rows, total] = await Promise.all([
        q.select(DELIVERY_META).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },
    attemptsOf: (tx: TenantTx, tenantId: string, deliveryIds: string[]) =>
      deliveryIds.length === 0
        ? Promise.resolve([] as AttemptRow[])
        : tx.selectFrom('webhook_delivery_attempts').selectAll().where('tenant_id', '=', tenantId).where('delivery_id', 'in', deliveryIds).orderBy('attempt').execute(),
    findDelivery: (tx: TenantTx, tenantId: string, endpointId: string, id: string) =>
      tx.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('endpoint_id', '=', endpointId).where('id', '=', id).forUpdate().executeTakeFirst(),
    /** Due again now (a manual retry or a recovery): one more attempt, then the schedule's rule. */
    requeue: (tx: TenantTx, tenantId: string, ids: string[], at: Date) =>
      ids.length === 0 ? Promise.resolve(0) : tx.updateTable('webhook_deliveries').set({ status: 'pending', next_attempt_at: at, finished_at: null })
        .where('tenant_id', '=', tenantId).where('id', 'in', ids).where('status', '<>', 'pending').executeTakeFirst().then((r) => Number(r.numUpdatedRows)),
    failedSince: (tx: TenantTx, tenantId: string, endpointId: string, since: Date, limit: number) =>
      tx.selectFrom('webhook_deliveries').select('id').where('tenant_id', '=', tenantId).where('endpoint_id', '=', endpointId)
        .where('status', '=', 'failed').where('created_at', '>=', since).where('body', 'is not', null).orderBy('created_at').limit(limit).execute(),

    /** Deliveries due across tenants (ids only, SECURITY DEFINER), oldest due first. */
    async due(now: Date, limit: number): Promise<Array<{ tenantId: string; id: string }>> {
      const { rows } = await sql<{ tenant_id: string; id: string }>`select * from keyhold_due_webhook_deliveries(${now}, ${limit})`.execute(db);
      return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
    },
    /**
     * Takes due deliveries: locked (another sender skips them), counted as attempted and moved
     * past their lease, so a sender that dies leaves them due again when the lease ends.
     */
    async claim(tx: TenantTx, tenantId: string, ids: string[], now: Date, leaseUntil: Date, max = ids.length) {
      const rows = await tx.selectFrom('webhook_deliveries').select(['id', 'endpoint_id', 'event_type', 'body', 'attempts'])
        .where('tenant_id', '=', tenantId).where('id', 'in', ids).where('status', '=', 'pending').where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at').limit(max).forUpdate().skipLocked().execute();
      if (rows.length === 0) return [];
      await tx.updateTable('webhook_deliveries').set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: leaseUntil }))
        .where('tenant_id', '=', tenantId).where('id', 'in', rows.map((r) => r.id)).execute();
      return rows.map((r) => ({ ...r, attempts: r.attempts + 1 }));
    },
    endpointsByIds: (tx: TenantTx, tenantId: string, ids: string[]) =>
      tx.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute(),
    insertAttempt: (tx: TenantTx, row: Omit<AttemptRow, never>) => tx.insertInto('webhook_delivery_attempts').values(row).execute(),
    /**
     * The common case, many at once in one round trip: attempts logged and their deliveries marked
     * delivered (each only while its attempt is the delivery's latest). One tenant's rows; values
     * are inlined, quoted with `literal`.
     */
    async recordDelivered(tenantId: string, attempts: AttemptRow[], finishedAt: Date): Promise<void> {
      if (!writeAsTenant) throw new Error('recordDelivered needs the one-trip writer');
      if (attempts.length === 0) return;
      const rows = attempts.map((a) => `(${[a.id, tenantId, a.delivery_id, a.attempt, a.attempted_at, a.status_code, a.latency_ms, a.error, a.response].map(sqlValue).join(', ')})`).join(',\n');
      const done = attempts.map((a) => `(${sqlValue(a.delivery_id)}::uuid, ${sqlValue(a.attempt)}, ${sqlValue(a.status_code)})`).join(', ');
      // Not waiting for the WAL flush: a record lost in a crash only means the delivery is sent
      // again with its webhook-id (at least once), and the commit stops costing a disk sync.
      await writeAsTenant(tenantId, `select set_config('synchronous_commit', 'off', true); with logged as (
          insert into webhook_delivery_attempts (id, tenant_id, delivery_id, attempt, attempted_at, status_code, latency_ms, error, response) values ${rows})
        update webhook_deliveries d set status = 'delivered', next_attempt_at = null, finished_at = ${sqlValue(finishedAt)}, last_status = v.status, last_error = null
        from (values ${done}) as v (id, attempt, status)
        where d.tenant_id = ${sqlValue(tenantId)} and d.id = v.id and d.status = 'pending' and d.attempts = v.attempt`);
    },
    /** Only while this sender's attempt is the delivery's latest (a newer one took it after the lease ended). */
    finishAttempt: async (tx: TenantTx, tenantId: string, id: string, attempt: number, set: Updateable<WebhookDeliveriesTable>) =>
      Number((await tx.updateTable('webhook_deliveries').set(set).where('tenant_id', '=', tenantId).where('id', '=', id)
        .where('status', '=', 'pending').where('attempts', '=', attempt).executeTakeFirst()).numUpdatedRows) > 0,

    /** Retention across tenants (SECURITY DEFINER): bodies first, then finished rows with their attempts. */
    async prune(bodyBefore: Date, rowsBefore: Date): Promise<number> {
      const { rows } = await sql<{ n: number }>`select keyhold_prune_webhook_deliveries(${bodyBefore}, ${rowsBefore}) as n`.execute(db);
      return rows[0]?.n ?? 0;
    },
  };
}
export type WebhookEndpointsRepo = ReturnType<typeof createWebhookEndpointsRepo>;
