import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { appFor, callbackWith, consentAt, oauthHarness } from '../../test-support/oauth.js';
import { providerBaseUrl } from '../../domains/connections/provider-request.js';

const UK = 'A1F83G8C2ARO7P';
const JP = 'A1VC38T7YXB528';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const authorize = (app: typeof h.t.app, acct: Account, query: Record<string, string>) =>
  app.inject({ method: 'GET', url: `/api/integrations/amazon-sp-api/authorize?${new URLSearchParams(query)}`, headers: bearer(acct.accessToken) });

/** Connects a seller of `marketplaceId` through the sandbox, as a browser would. */
async function connectSeller(acct: Account, marketplaceId: string) {
  const res = await authorize(h.t.app, acct, { marketplaceId });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const back = await callbackWith(h.t.app, await consentAt({ authUrl: res.json().data.authUrl, cookie }, { sandbox_account: `seller-${crypto.randomUUID()}` }), cookie);
  expect(back.statusCode, back.body).toBe(302);
}

const proxy = (acct: Account, path: string) => h.t.app.inject({ method: 'GET', url: `/api/proxy/amazon-sp-api${path}`, headers: bearer(acct.accessToken) });
const INVENTORY = `/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=${UK}&marketplaceIds=${UK}`;

describe('Amazon SP-API regions', () => {
  it("a UK seller consents in Europe and every call of the connection goes to the EU endpoint", async () => {
    const acct = await signup(h.t.app);
    await connectSeller(acct, UK);
    const row = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').selectAll().where('provider', '=', 'amazon-sp-api').executeTakeFirstOrThrow());
    expect(row.config).toMatchObject({ region: 'eu', marketplaceId: UK });
    const res = await proxy(acct, '/sellers/v1/marketplaceParticipations');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ payload: [{ marketplace: { id: UK } }, { marketplace: { countryCode: 'DE' } }] });
    expect(h.sandbox.requests().filter((r) => r.provider === 'amazon-sp-api' && r.path === '/sellers/v1/marketplaceParticipations').at(-1)).toMatchObject({ region: 'eu', status: 200 });
  });

  it("with Amazon's real URLs: the consent page is the marketplace's Seller Central and the API the region's endpoint", async () => {
    const real = await testApp({ oauthApps: { 'amazon-sp-api': { clientId: appFor('amazon-sp-api').clientId, clientSecret: new Secret('cs'), applicationId: 'amzn1.sp.solution.k' } } });
    try {
      const acct = await signup(real.app);
      const consentHost = async (query: Record<string, string>) => new URL((await authorize(real.app, acct, query)).json().data.authUrl).host;
      // Amazon's table sends UK sellers to the shared European Seller Central.
      expect(await consentHost({ marketplaceId: UK })).toBe('sellercentral-europe.amazon.com');
      expect(await consentHost({ marketplaceId: JP, region: 'fe' })).toBe('sellercentral.amazon.co.jp');
      expect(await consentHost({ marketplaceId: 'A1805IZSGTT6HS' })).toBe('sellercentral.amazon.nl');
      expect(await consentHost({})).toBe('sellercentral.amazon.com');
      const amazon = real.services.catalog.get('amazon-sp-api');
      const base = (region: string) => providerBaseUrl(amazon, { config: { region }, secrets: {} });
      expect([base('na'), base('eu'), base('fe')]).toEqual(['https://sellingpartnerapi-na.amazon.com', 'https://sellingpartnerapi-eu.amazon.com', 'https://sellingpartnerapi-fe.amazon.com']);
      // A region and a marketplace that disagree, an unknown marketplace, or Europe without one: 400, nothing stored.
      for (const q of [{ region: 'na', marketplaceId: UK }, { marketplaceId: 'A0000000000000' }, { region: 'eu' }] as Array<Record<string, string>>) {
        const res = await authorize(real.app, acct, q);
        expect([res.statusCode, res.json().code], JSON.stringify(q)).toEqual([400, 'VALIDATION_FAILED']);
      }
    } finally {
      await real.close();
    }
  });
});

describe('Amazon SP-API region is part of a host name', () => {
  it('a region outside na|eu|fe is refused (400 naming the field), so no other host can be templated in', async () => {
    const acct = await signup(h.t.app);
    for (const region of ['eu.attacker.example/x', 'EU', 'eu#', '']) {
      const res = await h.t.app.inject({
        method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
        payload: { serviceName: 'amazon-sp-api', apiKey: 'Atza|x', apiSecret: 'Atzr|y', additionalConfig: { sellingPartnerId: 'A1B2C3D4E5F6G7', marketplaceId: UK, region } },
      });
      expect([res.statusCode, res.json().code, res.json().error], region).toEqual([400, 'VALIDATION_FAILED', expect.stringContaining('additionalConfig.region')]);
    }
    const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select('id').execute());
    expect(rows).toEqual([]);
  });
});

describe('Amazon SP-API limits per operation', () => {
  it("parallel bursts: each operation's burst holds exactly, an empty participations bucket leaves inventory alone, Amazon never has to refuse", async () => {
    const acct = await signup(h.t.app);
    await connectSeller(acct, UK);
    const before = h.sandbox.requests().length;
    const burst = async (n: number, path: string) => {
      const started = Date.now();
      const codes = await Promise.all(Array.from({ length: n }, () => proxy(acct, path).then((r) => (r.statusCode === 429 ? r.json().code : r.statusCode))));
      return { ok: codes.filter((c) => c === 200).length, limited: codes.filter((c) => c === 'RATE_LIMITED').length, seconds: (Date.now() - started) / 1000 };
    };
    // getMarketplaceParticipations: burst 15 at Amazon, 14 at Keyhold (one call of headroom); refill 0.016/s.
    expect(await burst(20, '/sellers/v1/marketplaceParticipations')).toMatchObject({ ok: 14, limited: 6 });
    // getInventorySummaries has its own bucket: burst 2 (1 at Keyhold), refilled 2 per second.
    const inventory = await burst(6, INVENTORY);
    expect(inventory.ok).toBeGreaterThanOrEqual(1);
    expect(inventory.ok).toBeLessThanOrEqual(1 + Math.floor(2 * inventory.seconds));
    expect(inventory.ok + inventory.limited).toBe(6);
    const amazon = h.sandbox.requests().slice(before).filter((r) => r.provider === 'amazon-sp-api');
    expect(amazon.length).toBe(14 + inventory.ok);
    expect(amazon.filter((r) => r.status === 429)).toEqual([]);
  });
});
