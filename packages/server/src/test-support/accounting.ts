import { randomBytes } from 'node:crypto';
import type { Account } from './accounts.js';
import type { oauthHarness } from './oauth.js';

type Harness = Awaited<ReturnType<typeof oauthHarness>>;

/**
 * Connects the tenant to a fresh sandbox Xero organisation or QuickBooks company (its own data
 * set, so tests changing it do not meet) through the real OAuth flow; returns the connection and
 * the provider's account id (Xero tenant id / realm id).
 */
export async function connectAccounting(h: Harness, acct: Account, provider: 'xero' | 'quickbooks', label = 'default') {
  const res = await h.connect(acct, provider, { label, consent: { sandbox_account: `books-${randomBytes(5).toString('hex')}` } });
  if (res.statusCode !== 302) throw new Error(`connect ${provider} failed: ${res.statusCode} ${res.body}`);
  const row = await h.t.db.withTenant(acct.tenantId, (tx) =>
    tx.selectFrom('connections').select(['id', 'config']).where('provider', '=', provider).where('label', '=', label).executeTakeFirstOrThrow());
  const account = provider === 'xero' ? row.config.xeroTenantId : row.config.realmId;
  if (!account) throw new Error(`the ${provider} connection has no account id`);
  return { connectionId: row.id, account };
}
