/**
 * amazon-sp-api@1 (the community Node client: Amazon's own JavaScript SDK is published as
 * @amazon-sp-api-release/amazon-sp-api-sdk-js and is not a devDependency here) against the sandbox.
 *
 * Shim: the client hard-codes `https://sellingpartnerapi-<region>.amazon.com` and
 * `https://api.amazon.com/auth/o2/token` and has no base-URL option; it does take a custom HTTPS
 * agent (`options.https_proxy_agent`). The agent below opens a plain TCP connection to the sandbox
 * instead of a TLS one to Amazon; every request keeps its Amazon host name in `Host`, which the
 * sandbox routes by (amazon/index.ts). Nothing else of the client is changed.
 */
import { Agent } from 'node:https';
import { connect } from 'node:net';
import { SellingPartner } from 'amazon-sp-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../server.js';

let s: Sandbox;
let agent: Agent;
const app = { clientId: 'amzn1.application-oa2-client.contract', clientSecret: 'amzn1.oa2-cs.v1.contract', redirectUri: 'https://app.example/amazon/callback', applicationId: 'amzn1.sp.solution.contract' };
const credentials = { SELLING_PARTNER_APP_CLIENT_ID: app.clientId, SELLING_PARTNER_APP_CLIENT_SECRET: app.clientSecret };
const UK = 'A1F83G8C2ARO7P';

/** The few client calls used here, typed loosely (the package's operation typings are not what is under test). */
type Client = {
  exchange(code: string): Promise<{ access_token: string; refresh_token: string; token_type: string; expires_in: number }>;
  refreshAccessToken(): Promise<void>;
  readonly access_token: string;
  callAPI(req: Record<string, unknown>): Promise<Record<string, unknown> & { payload?: Record<string, unknown>; restore_rate?: number | null }>;
};
const client = (config: Record<string, unknown>, options: Record<string, unknown> = {}) =>
  new SellingPartner({ region: 'eu', credentials, ...config, options: { https_proxy_agent: agent, ...options } } as never) as unknown as Client;

beforeAll(async () => {
  s = await createSandbox();
  s.oauth.registerApp('amazon-sp-api', app);
  const port = Number(new URL(s.url).port);
  agent = new Agent();
  // The smallest transport shim: same requests, delivered to the sandbox over plain TCP.
  (agent as unknown as { createConnection: () => ReturnType<typeof connect> }).createConnection = () => connect(port, '127.0.0.1');
});
afterAll(() => s.close());

/** The seller's browser on the European Seller Central consent page (the client does not do this step). */
async function consentInEurope() {
  const q = new URLSearchParams({ application_id: app.applicationId, state: 'st', redirect_uri: app.redirectUri, version: 'beta' });
  const res = await fetch(`${s.url}/amazon-sp-api/eu/apps/authorize/consent?${q}`, { redirect: 'manual' });
  const back = new URL(res.headers.get('location')!);
  expect(back.searchParams.get('state')).toBe('st');
  return { code: back.searchParams.get('spapi_oauth_code')!, sellingPartnerId: back.searchParams.get('selling_partner_id')! };
}

describe('amazon-sp-api client against the sandbox', () => {
  it('exchange(): the code for LWA tokens (JSON body, no redirect_uri); refreshAccessToken(): a new access token, same refresh token', async () => {
    const { code, sellingPartnerId } = await consentInEurope();
    expect(sellingPartnerId).toMatch(/^A[A-Z0-9]{13}$/);
    const lwa = client({}, { only_grantless_operations: true });
    const tokens = await lwa.exchange(code);
    expect(tokens).toMatchObject({ access_token: expect.stringMatching(/^Atza\|/), refresh_token: expect.stringMatching(/^Atzr\|/), token_type: 'bearer', expires_in: 3600 });
    const exchange = s.requests().find((r) => r.path === '/auth/o2/token' && r.body.includes('authorization_code'))!;
    expect(exchange.headers['content-type']).toBe('application/json');
    expect(JSON.parse(exchange.body)).not.toHaveProperty('redirect_uri');

    const sp = client({ refresh_token: tokens.refresh_token });
    await sp.refreshAccessToken();
    expect(sp.access_token).toMatch(/^Atza\|/);
    expect(sp.access_token).not.toBe(tokens.access_token);
    expect(s.oauth.stats()['amazon-sp-api'].refresh).toBeGreaterThanOrEqual(1);
    // A code is single-use: the client surfaces LWA's error code.
    await expect(lwa.exchange(code)).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it("getMarketplaceParticipations at the EU endpoint; an expired access token is refreshed by the client on Amazon's 403", async () => {
    const g = s.oauth.mintGrant('amazon-sp-api', { region: 'eu', accessTokenTtlSeconds: 0 });
    const sp = client({ refresh_token: g.refreshToken, access_token: g.accessToken });
    const participations = await sp.callAPI({ operation: 'getMarketplaceParticipations', endpoint: 'sellers' }) as unknown as Array<{ marketplace: { id: string } }>;
    expect(participations.map((p) => p.marketplace.id)).toContain(UK);
    expect(sp.access_token).not.toBe(g.accessToken);
    const calls = s.requests().filter((r) => r.path === '/sellers/v1/marketplaceParticipations').slice(-2);
    expect(calls.map((r) => [r.region, r.status])).toEqual([['eu', 403], ['eu', 200]]);
    // The same seller at the North American endpoint: Amazon's regional refusal.
    const wrongRegion = new SellingPartner({ region: 'na', credentials, refresh_token: g.refreshToken, options: { https_proxy_agent: agent } } as never) as unknown as Client;
    await expect(wrongRegion.callAPI({ operation: 'getMarketplaceParticipations', endpoint: 'sellers' })).rejects.toMatchObject({ code: 'Unauthorized' });
  });

  it('getInventorySummaries pages through nextToken; the client waits out the 429s of the 2/s bucket by itself', async () => {
    const g = s.oauth.mintGrant('amazon-sp-api', { region: 'eu' });
    const sp = client({ refresh_token: g.refreshToken });
    const skus: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sp.callAPI({
        operation: 'getInventorySummaries', endpoint: 'fbaInventory',
        query: { granularityType: 'Marketplace', granularityId: UK, marketplaceIds: [UK], details: true, ...(nextToken ? { nextToken } : {}) },
      }) as unknown as { inventorySummaries: Array<{ sellerSku: string }>; nextToken?: string };
      skus.push(...page.inventorySummaries.map((x) => x.sellerSku));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect([pages, new Set(skus).size]).toEqual([3, 120]);
    // Three calls at once against a burst of 2: the third was throttled and retried by the client.
    const inventory = s.requests().filter((r) => r.path === '/fba/inventory/v1/summaries' && r.headers['x-amz-access-token'] === sp.access_token);
    expect(inventory.filter((r) => r.status === 200)).toHaveLength(3);
  });

  it('x-amzn-RateLimit-Limit becomes restore_rate; without auto-retry a throttled call throws QuotaExceeded', async () => {
    const g = s.oauth.mintGrant('amazon-sp-api', { region: 'eu' });
    const sp = client({ refresh_token: g.refreshToken, access_token: g.accessToken }, { auto_request_throttled: false, return_as_payload: true });
    const call = () => sp.callAPI({ operation: 'getInventorySummaries', endpoint: 'fbaInventory', query: { granularityType: 'Marketplace', granularityId: UK, marketplaceIds: [UK] } });
    const first = await call();
    expect(first.restore_rate).toBe(0.5);
    await call();
    await expect(call()).rejects.toMatchObject({ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.' });
  });
});
