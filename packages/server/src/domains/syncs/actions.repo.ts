import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { SyncRunStatus, SyncTrigger } from '../../platform/db/syncs-schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type ActionRunRow = { id: string; status: SyncRunStatus; result: Record<string, unknown> | null; error_code: string | null; provider_calls: number; input_hash: string | null };

/** The only SQL for actions: their rows in `sync_runs` (kind 'action'). */
export function createActionsRepo(_db: Kysely<Database>) {
  return {
    /** Closes this action's `running` rows whose lease ran out (their process died). */
    closeExpired: (tx: TenantTx, tenantId: string, connectionId: string, action: string, now: Date) =>
      tx.updateTable('sync_runs').set({ status: 'failed', finished_at: now, error_code: 'lease_expired' })
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', action)
        .where('kind', '=', 'action').where('status', '=', 'running').where('lease_until', '<', now).execute(),

    /**
     * Claims the key: inserts the run as `running`, or takes over a row of the same key and input
     * that failed (a retry), keeping its send attempt. Null when the key's row succeeded, is
     * running or ran with another input (the caller reads it).
     * Throws a unique violation on `sync_runs_one_running` when another key of this action runs.
     */
    claim: async (tx: TenantTx, row: { id: string; tenant_id: string; connection_id: string; action: string; key: string; input_hash: string; trigger: SyncTrigger; started_at: Date; lease_until: Date }) => {
      const r = await sql<{ id: string; send_attempt: number }>`
        insert into sync_runs (id, tenant_id, connection_id, sync, kind, idempotency_key, input_hash, trigger, mode, started_at, lease_until)
        values (${row.id}, ${row.tenant_id}, ${row.connection_id}, ${row.action}, 'action', ${row.key}, ${row.input_hash}, ${row.trigger}, 'full', ${row.started_at}, ${row.lease_until})
        on conflict (tenant_id, connection_id, sync, idempotency_key) do update set
          status = 'running', trigger = excluded.trigger, started_at = excluded.started_at, lease_until = excluded.lease_until,
          finished_at = null, error_code = null, result = null, provider_calls = 0, input_hash = excluded.input_hash
        where sync_runs.status = 'failed' and (sync_runs.input_hash is null or sync_runs.input_hash = excluded.input_hash)
        returning id, send_attempt`.execute(tx);
      return r.rows[0] ?? null;
    },

    byKey: (tx: TenantTx, tenantId: string, connectionId: string, action: string, key: string): Promise<ActionRunRow | undefined> =>
      tx.selectFrom('sync_runs').select(['id', 'status', 'result', 'error_code', 'provider_calls', 'input_hash'])
        .where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId).where('sync', '=', action)
        .where('idempotency_key', '=', key).executeTakeFirst(),

    /**
     * Closes a running action; false when it is no longer running (its lease ran out). `refused`
     * moves the send attempt on, so a retry sends under a new provider-facing key.
     */
    finish: async (tx: TenantTx, tenantId: string, id: string, { refused, ...set }: { status: 'succeeded' | 'failed'; finished_at: Date; provider_calls: number; error_code: string | null; result: Record<string, unknown> | null; refused: boolean }) =>
      (await tx.updateTable('sync_runs').set((eb) => ({ ...set, result: set.result === null ? null : JSON.stringify(set.result), send_attempt: refused ? eb('send_attempt', '+', 1) : eb.ref('send_attempt') }))
        .where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'running').executeTakeFirst()).numUpdatedRows > 0n,
  };
}
export type ActionsRepo = ReturnType<typeof createActionsRepo>;
