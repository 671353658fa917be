import type { TenantTx } from '../../platform/db/tenancy.js';

export type AlertKey = { connectionId: string; model: string; externalId: string };

/** The only SQL of the commerce module's tables (migration 0030); every query names the tenant. */
export function createCommerceRepo() {
  return {
    threshold: async (tx: TenantTx, tenantId: string) =>
      (await tx.selectFrom('commerce_settings').select('low_stock_threshold').where('tenant_id', '=', tenantId).executeTakeFirst())?.low_stock_threshold,

    saveThreshold: (tx: TenantTx, tenantId: string, threshold: number, at: Date) =>
      tx.insertInto('commerce_settings').values({ tenant_id: tenantId, low_stock_threshold: threshold, updated_at: at })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ low_stock_threshold: threshold, updated_at: at })).execute(),

    /**
     * Records that an item was told low; false when it already was (another drain got there
     * first, or it is still under since the last alert): the caller then emits nothing.
     */
    markAlerted: async (tx: TenantTx, tenantId: string, k: AlertKey, quantity: number, threshold: number, at: Date) => {
      const r = await tx.insertInto('commerce_low_stock_alerts')
        .values({ tenant_id: tenantId, connection_id: k.connectionId, model: k.model, external_id: k.externalId, quantity, threshold, alerted_at: at })
        .onConflict((oc) => oc.columns(['tenant_id', 'connection_id', 'model', 'external_id']).doNothing())
        .returning('external_id').executeTakeFirst();
      return r !== undefined;
    },

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
