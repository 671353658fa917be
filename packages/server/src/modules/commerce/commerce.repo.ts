import { sql } from 'kysely';
import type { TenantTx } from '../../platform/db/tenancy.js';

export type AlertKey = { connectionId: string; model: string; externalId: string };

/** The only SQL of the commerce module's tables (migrations 0030, 0033); every query names the tenant. */
export function createCommerceRepo() {
  return {
    threshold: async (tx: TenantTx, tenantId: string) =>
      (await tx.selectFrom('commerce_settings').select('low_stock_threshold').where('tenant_id', '=', tenantId).executeTakeFirst())?.low_stock_threshold,

    saveThreshold: (tx: TenantTx, tenantId: string, threshold: number, at: Date) =>
      tx.insertInto('commerce_settings').values({ tenant_id: tenantId, low_stock_threshold: threshold, updated_at: at })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ low_stock_threshold: threshold, updated_at: at })).execute(),

    /**
     * Records that items were told low, in one statement: returns the ids newly told (no row yet,
     * or a stale row told under another threshold, updated in place). An item already told under
     * this threshold (another drain got there first, or it is still under) is not returned.
     */
    markAlerted: async (tx: TenantTx, tenantId: string, connectionId: string, model: string, items: Array<{ externalId: string; quantity: number }>, threshold: number, at: Date) => {
      if (items.length === 0) return new Set<string>();
      const rows = await tx.insertInto('commerce_low_stock_alerts')
        .values(items.map((i) => ({ tenant_id: tenantId, connection_id: connectionId, model, external_id: i.externalId, quantity: i.quantity, threshold, alerted_at: at })))
        .onConflict((oc) => oc.columns(['tenant_id', 'connection_id', 'model', 'external_id']).doUpdateSet((eb) => ({
          quantity: eb.ref('excluded.quantity'), threshold: eb.ref('excluded.threshold'), alerted_at: eb.ref('excluded.alerted_at'),
        })).where('commerce_low_stock_alerts.threshold', '<>', threshold))
        .returning('external_id').execute();
      return new Set(rows.map((r) => r.external_id));
    },

    /** Marks a connection's stock model watched; true the first time (its first evaluated sync). */
    watch: async (tx: TenantTx, tenantId: string, connectionId: string, model: string, at: Date) =>
      (await sql`insert into commerce_stock_watches (tenant_id, connection_id, model, since) values (${tenantId}, ${connectionId}, ${model}, ${at})
        on conflict do nothing returning model`.execute(tx)).rows.length > 0,

    /** Re-arms items that are back at or above the threshold (or gone): their next drop is told again. */
    rearm: async (tx: TenantTx, tenantId: string, connectionId: string, model: string, externalIds: string[]) => {
      if (externalIds.length === 0) return 0;
      const r = await tx.deleteFrom('commerce_low_stock_alerts').where('tenant_id', '=', tenantId).where('connection_id', '=', connectionId)
        .where('model', '=', model).where('external_id', 'in', externalIds).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
export type CommerceRepo = ReturnType<typeof createCommerceRepo>;
