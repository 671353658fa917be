import { randomBytes } from 'node:crypto';
import { type Account, bearer } from './accounts.js';
import type { oauthHarness } from './oauth.js';

type Harness = Awaited<ReturnType<typeof oauthHarness>>;

/** A tenant's Shopify store of `count` orders in the sandbox (at least its 120), connected with a custom-app token. */
export async function shopifyStore(h: Harness, acct: Account, count = 120, label = 'default') {
  const store = `sync-${randomBytes(5).toString('hex')}.myshopify.com`;
  const token = `shpat_${randomBytes(12).toString('hex')}`;
  h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  h.sandbox.shopifyOrders.grow(store, count);
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'shopify', apiKey: token, label, additionalConfig: { storeDomain: store } },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return { store, connectionId: res.json().data.id as string };
}

/** Moves a connection to a status the way Keyhold does (connection event + outbox event), then drains the outbox. */
export async function transitionTo(h: Harness, acct: Account, connectionId: string, to: 'needs_reauth' | 'active', reason: 'needs_reauth' | 'reconnected' | 'recovered') {
  await h.t.db.withTenant(acct.tenantId, async (tx) => {
    const conn = (await h.t.services.store.byId(tx, connectionId))!;
    if (reason === 'reconnected') await h.t.services.store.update(tx, conn, {}, { reason, to, detail: { source: 'oauth' } });
    else await h.t.services.store.transition(tx, conn, to, { reason, detail: { source: 'refresh', ...(reason === 'needs_reauth' ? { error: 'invalid_grant' } : {}) } });
  });
  await h.t.services.events.drain();
}

export const schedulesOf = (h: Harness, acct: Account) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_schedules').selectAll().orderBy('connection_id').execute());
