import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { NotificationLogTable, NotificationStatus } from '../../platform/db/notifications-schema.js';
import type { Database } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type NotificationRow = Selectable<NotificationLogTable>;
export type NotificationInsert = Omit<Insertable<NotificationLogTable>, 'vars'> & { vars: Record<string, string> };

/**
 * The only SQL for `notification_log` and `notification_settings`, always inside a tenant's
 * transaction; every statement names the tenant too (RLS is the second guard, not the only one).
 */
export function createNotificationsRepo(db: Kysely<Database>) {
  return {
    /** Inserts unless a row with the same dedupe key exists (quiet duplicates); returns the id or null. */
    async insert(tx: TenantTx, row: NotificationInsert): Promise<string | null> {
      const inserted = await tx
        .insertInto('notification_log')
        .values({ ...row, vars: JSON.stringify(row.vars) })
        .onConflict((oc) => oc.columns(['tenant_id', 'dedupe_key']).doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted?.id ?? null;
    },

    async page(tx: TenantTx, tenantId: string, f: { status?: NotificationStatus; channel?: 'email' | 'chat'; limit: number; offset: number }) {
      let q = tx.selectFrom('notification_log').where('tenant_id', '=', tenantId);
      if (f.status) q = q.where('status', '=', f.status);
      if (f.channel) q = q.where('channel', '=', f.channel);
      const [rows, total] = await Promise.all([
        q.select(['id', 'channel', 'template', 'recipient', 'sender_provider', 'status', 'provider_message_id', 'error', 'attempts', 'created_at', 'sent_at'])
          .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },

    /** Due messages across tenants (ids only, SECURITY DEFINER). */
    async due(now: Date, limit: number): Promise<Array<{ tenant_id: string; id: string }>> {
      const { rows } = await sql<{ tenant_id: string; id: string }>`select * from keyhold_due_notifications(${now}, ${limit})`.execute(db);
      return rows;
    },

    /** A due message, locked; another sender skips it. */
    claimable: (tx: TenantTx, tenantId: string, id: string, now: Date) =>
      tx.selectFrom('notification_log').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'PENDING').where('next_attempt_at', '<=', now)
        .forUpdate().skipLocked().executeTakeFirst(),

    /** Takes a lease on a message: nobody else sends it before `leaseUntil` (a crashed sender's lease simply runs out). */
    lease: (tx: TenantTx, tenantId: string, id: string, attempts: number, leaseUntil: Date) =>
      tx.updateTable('notification_log').set({ attempts, next_attempt_at: leaseUntil }).where('tenant_id', '=', tenantId).where('id', '=', id).execute(),

    /** Records the outcome of the attempt numbered `attempts`; a later attempt's lease wins over a stale one. */
    async settle(tx: TenantTx, tenantId: string, id: string, attempts: number, set: { status: NotificationStatus; provider_message_id?: string | null; sender_provider?: string | null; error?: string | null; sent_at?: Date; next_attempt_at?: Date; clearSecrets: boolean }): Promise<boolean> {
      const { clearSecrets, ...rest } = set;
      const r = await tx.updateTable('notification_log')
        .set({ ...rest, ...(clearSecrets ? { secret_vars: null } : {}) })
        .where('tenant_id', '=', tenantId).where('id', '=', id).where('attempts', '=', attempts).where('status', '=', 'PENDING')
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    /**
     * A sent email the provider reported bounced: only one this tenant's own connection at that
     * provider sent (`sender_provider` is who actually sent it; null is the platform's sender).
     */
    markBounced: (tx: TenantTx, tenantId: string, senderProvider: string, providerMessageId: string) =>
      tx.updateTable('notification_log').set({ status: 'BOUNCED' })
        .where('tenant_id', '=', tenantId).where('channel', '=', 'email').where('sender_provider', '=', senderProvider)
        .where('provider_message_id', '=', providerMessageId).where('status', 'in', ['SENT', 'PENDING'])
        .execute(),

    settings: (tx: TenantTx, tenantId: string) => tx.selectFrom('notification_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst(),
    putSettings: (tx: TenantTx, row: { tenant_id: string; email_rules: Record<string, string[]>; chat_events: string[]; chat_provider: string | null; chat_channel: string | null; email_provider: string | null; email_from: string | null; updated_at: Date }) => {
      const values = { ...row, email_rules: JSON.stringify(row.email_rules) };
      const { tenant_id: _, ...update } = values;
      return tx.insertInto('notification_settings').values(values)
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet(update))
        .returningAll().executeTakeFirstOrThrow();
    },

    /** Tenants whose trial ends in the window (ids only, SECURITY DEFINER). */
    async trialsEnding(from: Date, to: Date): Promise<Array<{ id: string; trial_ends_at: Date }>> {
      const { rows } = await sql<{ id: string; trial_ends_at: Date }>`select * from keyhold_trials_ending(${from}, ${to})`.execute(db);
      return rows;
    },
  };
}
export type NotificationsRepo = ReturnType<typeof createNotificationsRepo>;
