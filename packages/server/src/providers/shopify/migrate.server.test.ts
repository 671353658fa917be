import { beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { TEST_PUBLIC_URL } from '../../test-support/index.js';
import { appFor, oauthHarness, useCrashableHarness, adminQuery } from '../../test-support/oauth.js';

/**
 * Connections Keyhold made before it asked Shopify for expiring tokens hold non-expiring offline
 * tokens, which Shopify refuses for every public app from 2027-01-01. The background sweep
 * migrates them by token exchange; a token a tenant pasted is never touched.
 */
const crashable = useCrashableHarness();
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(() => {
  h = crashable.h;
});
const registerApp = (createdAt: string) =>
  h.sandbox.oauth.registerApp('shopify', { ...appFor('shopify'), redirectUri: `${TEST_PUBLIC_URL}/api/integrations/shopify/callback`, createdAt });

/** An app created before 2026-04-01: Shopify still accepts its non-expiring tokens (until 2027). */
const acceptNonExpiring = () => registerApp('2025-06-01');
/** As every public app's tokens are treated from 2027-01-01 (and a newer app's already). */
const refuseNonExpiring = () => registerApp('2026-05-01');

const query = (sql: string, params: unknown[]) => adminQuery(h.scratch!.adminUrl, sql, params);
const rowOf = async (tenantId: string) => (await query('select * from connections where tenant_id = $1', [tenantId]))[0];
const eventsOf = async (tenantId: string) => (await query('select type, detail from connection_events where tenant_id = $1 order by id', [tenantId])) as Array<{ type: string; detail: Record<string, unknown> }>;
const exchangesFor = (shop: string) => h.sandbox.requests().filter((r) => r.method === 'POST' && r.path === `/${shop}/admin/oauth/access_token` && r.body.includes('token-exchange')).length;
const proxyShop = (acct: Account) => h.t.app.inject({ method: 'GET', url: '/api/proxy/shopify/admin/api/2025-07/shop.json', headers: bearer(acct.accessToken) });
const newShop = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}.myshopify.com`;

/**
 * A connection as Keyhold's OAuth flow stored it before it sent `expiring=1`: a non-expiring
 * offline token (no refresh token, no expiry), written by the store as an 'oauth' connect.
 */
async function oldConnection(name: string) {
  const acct = await signup(h.t.app);
  const shop = newShop(name);
  const minted = h.sandbox.oauth.mintGrant('shopify', { store: shop });
  expect(minted.refreshToken).toBeUndefined();
  const { store, catalog } = h.t.services;
  await h.t.db.withTenant(acct.tenantId, (tx) =>
    store.create(tx, { tenantId: acct.tenantId, provider: catalog.get('shopify'), label: 'default', secrets: { accessToken: minted.accessToken }, config: { storeDomain: shop }, status: 'active', createdBy: null }, { source: 'oauth', by: systemActor, account: shop }));
  return { acct, shop, oldToken: minted.accessToken };
}

async function secretsOf(tenantId: string) {
  const { store } = h.t.services;
  return h.t.db.withTenant(tenantId, async (tx) => store.secretsOf(tx, (await store.byProviderLabel(tx, 'shopify', 'default'))!));
}

describe('migrating non-expiring Shopify tokens', () => {
  beforeAll(acceptNonExpiring);

  it('the sweep exchanges an old connection for an expiring pair, which keeps working through the proxy once Shopify refuses non-expiring tokens', async () => {
    const { acct, shop, oldToken } = await oldConnection('old');
    expect((await proxyShop(acct)).statusCode).toBe(200);
    const stats = await h.t.services.tokens.sweep();
    expect(stats.upgrades).toMatchObject({ upgraded: 1, refused: 0, failed: 0 });
    refuseNonExpiring();
    try {
      const res = await proxyShop(acct);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().shop.myshopify_domain).toBe(shop);
      // The request went out exactly as @shopify/shopify-api's auth.migrateToExpiringToken sends it.
      const sent = h.sandbox.requests().find((r) => r.path === `/${shop}/admin/oauth/access_token`)!;
      expect(sent.headers['content-type']).toBe('application/json');
      expect(JSON.parse(sent.body)).toEqual({
        client_id: appFor('shopify').clientId, client_secret: appFor('shopify').clientSecret,
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: oldToken,
        subject_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token',
        requested_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token', expiring: '1',
      });
      const row = await rowOf(acct.tenantId);
      expect(row).toMatchObject({ status: 'active', token_origin: 'oauth', credential_version: 2, refresh_lease_owner: null });
      expect(row.token_expires_at.getTime() - h.t.clock().getTime()).toBeGreaterThan(3500_000);
      const secrets = await secretsOf(acct.tenantId);
      expect(secrets.refreshToken).toMatch(/^shprt_/);
      expect(secrets.accessToken).not.toBe(oldToken);
      expect((await eventsOf(acct.tenantId)).map((e) => [e.type, e.detail.source])).toEqual([['connected', 'oauth'], ['rotated', 'refresh']]);
      const audit = await query("select action from audit_logs where tenant_id = $1 and action like 'oauth.%'", [acct.tenantId]);
      expect(audit.map((a) => a.action)).toEqual(['oauth.grant_upgraded']);
      // Later it refreshes like any expiring connection.
      h.t.clock.advance(3400 * 1000);
      expect((await h.t.services.tokens.sweep()).refreshed).toBeGreaterThanOrEqual(1);
      h.t.clock.advance(-3400 * 1000); // back within the tenant user's 15-minute session
      expect((await proxyShop(acct)).statusCode).toBe(200);
      expect((await secretsOf(acct.tenantId)).refreshToken).not.toBe(secrets.refreshToken);
      // No token, old or new, in the logs.
      const logs = h.t.logs.text();
      for (const t of [oldToken, secrets.accessToken!, secrets.refreshToken!]) expect(logs).not.toContain(t);
    } finally {
      acceptNonExpiring();
    }
  });

  it('a custom-app token the tenant pasted is never exchanged, even one Shopify would exchange', async () => {
    const acct = await signup(h.t.app);
    const shop = newShop('pasted');
    // The worst case: a non-expiring token of Keyhold's own app, pasted through the credentials API.
    const pasted = h.sandbox.oauth.mintGrant('shopify', { store: shop }).accessToken;
    const saved = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: pasted, additionalConfig: { storeDomain: shop } } });
    expect(saved.statusCode, saved.body).toBe(201);
    const old = await oldConnection('beside'); // the sweep has work to do
    const stats = await h.t.services.tokens.sweep();
    expect(stats.upgrades.upgraded).toBeGreaterThanOrEqual(1);
    expect(exchangesFor(old.shop)).toBe(1);
    expect(exchangesFor(shop)).toBe(0);
    expect(await rowOf(acct.tenantId)).toMatchObject({ status: 'active', token_origin: 'tenant', credential_version: 1, next_refresh_at: null });
    expect((await eventsOf(acct.tenantId)).map((e) => e.type)).toEqual(['connected']);
    expect((await secretsOf(acct.tenantId)).accessToken).toBe(pasted);
  });

  it('two sweeps at once exchange each token once', async () => {
    const conns = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => oldConnection(`twice-${n}`)));
    const [a, b] = await Promise.all([h.t.services.tokens.sweep(), h.t.services.tokens.sweep()]);
    expect(a.upgrades.upgraded + b.upgrades.upgraded).toBe(5);
    for (const c of conns) {
      expect(exchangesFor(c.shop)).toBe(1);
      expect((await eventsOf(c.acct.tenantId)).map((e) => e.type)).toEqual(['connected', 'rotated']);
    }
  });

  it('a crash after Shopify answered is recovered: the old token is exchanged again for the same pair', async () => {
    const { acct, shop } = await oldConnection('crash');
    crashable.crashAfterNextAnswer();
    expect((await h.t.services.tokens.sweep()).upgrades.upgraded).toBe(0);
    expect(exchangesFor(shop)).toBe(1);
    expect((await h.t.services.tokens.sweep()).upgrades.claimed).toBe(0); // still leased
    h.t.clock.advance(31_000);
    expect((await h.t.services.tokens.sweep()).upgrades.upgraded).toBe(1);
    expect(exchangesFor(shop)).toBe(2);
    refuseNonExpiring();
    try {
      expect((await proxyShop(acct)).statusCode).toBe(200);
    } finally {
      acceptNonExpiring();
    }
  });

  it('a refusal leaves the connection as it is, recorded; asked again a day later', async () => {
    const { acct, shop, oldToken } = await oldConnection('refused');
    h.sandbox.oauth.revoke('shopify', { account: shop });
    const stats = await h.t.services.tokens.sweep();
    expect(stats.upgrades).toMatchObject({ upgraded: 0, refused: 1 });
    const row = await rowOf(acct.tenantId);
    expect(row).toMatchObject({ status: 'active', credential_version: 1, token_expires_at: null, refresh_lease_owner: null });
    expect(row.next_refresh_at.getTime() - h.t.clock().getTime()).toBeGreaterThan(23 * 3600_000);
    expect((await eventsOf(acct.tenantId)).at(-1)).toMatchObject({ type: 'refresh_failed', detail: { source: 'refresh', error: 'invalid_grant', failures: 1 } });
    const audit = await query("select action, metadata from audit_logs where tenant_id = $1 and action like 'oauth.%'", [acct.tenantId]);
    expect(audit).toMatchObject([{ action: 'oauth.upgrade_refused', metadata: { reason: 'invalid_grant', httpStatus: 400 } }]);
    expect((await secretsOf(acct.tenantId)).accessToken).toBe(oldToken);
    await h.t.services.tokens.sweep();
    expect(exchangesFor(shop)).toBe(1);
    h.t.clock.advance(24 * 3600_000 + 1000);
    await h.t.services.tokens.sweep();
    expect(exchangesFor(shop)).toBe(2);
    expect(h.t.logs.text()).not.toContain(oldToken);
  });

  it('a transient failure backs off and succeeds later; the connection is not degraded meanwhile', async () => {
    const { acct, shop } = await oldConnection('flaky');
    h.sandbox.fail('shopify', { status: 503, path: `/${shop}/admin/oauth/access_token`, times: 3 });
    for (let i = 1; i <= 3; i++) {
      const stats = await h.t.services.tokens.sweep();
      expect(stats.upgrades.failed).toBe(1);
      expect(await rowOf(acct.tenantId)).toMatchObject({ status: 'active', refresh_failures: i });
      h.t.clock.advance(30 * 60_000);
    }
    expect((await h.t.services.tokens.sweep()).upgrades.upgraded).toBe(1);
    expect(await rowOf(acct.tenantId)).toMatchObject({ status: 'active', refresh_failures: 0, next_refresh_at: null });
  });
});
