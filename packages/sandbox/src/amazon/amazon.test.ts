import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../server.js';

let s: Sandbox;
const app = { clientId: 'amzn1.application-oa2-client.t', clientSecret: 'amzn-secret', redirectUri: 'https://keyhold.test/cb/amazon', applicationId: 'amzn1.sp.solution.t' };
beforeAll(async () => {
  s = await createSandbox();
  s.oauth.registerApp('amazon-sp-api', app);
});
afterAll(() => s.close());

const sp = (token: string, path: string, prefix = '') => fetch(`${s.url}/amazon-sp-api${prefix}${path}`, { headers: { 'x-amz-access-token': token } });
const INVENTORY = '/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=A1F83G8C2ARO7P&marketplaceIds=A1F83G8C2ARO7P';
const form = (body: Record<string, string>) => fetch(`${s.url}/amazon-sp-api/auth/o2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });

/** Consent on the Seller Central of `region`, as the seller's browser would; returns the code. */
async function consent(region: string) {
  const q = new URLSearchParams({ application_id: app.applicationId, state: 's', redirect_uri: app.redirectUri });
  const res = await fetch(`${s.url}/amazon-sp-api/${region}/apps/authorize/consent?${q}`, { redirect: 'manual' });
  return new URL(res.headers.get('location')!).searchParams.get('spapi_oauth_code')!;
}

describe('Amazon SP-API in the sandbox', () => {
  it('LWA exchanges a code without redirect_uri (as Amazon documents); one that is sent must still match', async () => {
    const ok = await form({ grant_type: 'authorization_code', code: await consent('na'), client_id: app.clientId, client_secret: app.clientSecret });
    expect(ok.status).toBe(200);
    // The consent URL may leave redirect_uri out: Seller Central uses the app's registered one.
    const bare = await fetch(`${s.url}/amazon-sp-api/apps/authorize/consent?${new URLSearchParams({ application_id: app.applicationId, state: 's' })}`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toMatch(/^https:\/\/keyhold\.test\/cb\/amazon\?spapi_oauth_code=/);
    const wrong = await form({ grant_type: 'authorization_code', code: await consent('na'), redirect_uri: 'https://elsewhere.test/cb', client_id: app.clientId, client_secret: app.clientSecret });
    expect([wrong.status, ((await wrong.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
  });

  it("authorizations are regional: an EU seller's token works at the EU endpoint only", async () => {
    const t = (await (await form({ grant_type: 'authorization_code', code: await consent('eu'), client_id: app.clientId, client_secret: app.clientSecret })).json()) as { access_token: string };
    const eu = await sp(t.access_token, '/sellers/v1/marketplaceParticipations', '/eu');
    expect(eu.status).toBe(200);
    expect(await eu.json()).toMatchObject({ payload: [{ marketplace: { id: 'A1F83G8C2ARO7P', countryCode: 'GB' } }, { marketplace: { id: 'A1PA6795UKMFR9' } }] });
    for (const prefix of ['/na', '', '/fe']) {
      const other = await sp(t.access_token, '/sellers/v1/marketplaceParticipations', prefix);
      expect([other.status, await other.json()]).toEqual([403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }] }]);
    }
    // A client addressing Amazon's own host name (through a transport shim) reaches the same endpoint.
    const byHost = await new Promise<number>((resolve, reject) => {
      const u = new URL(s.url);
      request({ host: u.hostname, port: u.port, path: '/sellers/v1/marketplaceParticipations', headers: { host: 'sellingpartnerapi-eu.amazon.com', 'x-amz-access-token': t.access_token } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(byHost).toBe(200);
    expect(s.requests().at(-1)).toMatchObject({ provider: 'amazon-sp-api', region: 'eu', path: '/sellers/v1/marketplaceParticipations' });
  });

  it('limits per operation: an empty participations bucket does not throttle inventory; each burst holds exactly under parallel calls', async () => {
    const g = s.oauth.mintGrant('amazon-sp-api', { clientId: app.clientId, region: 'eu' });
    const parallel = async (n: number, path: string) => Promise.all(Array.from({ length: n }, () => sp(g.accessToken, path, '/eu')));
    const participations = await parallel(20, '/sellers/v1/marketplaceParticipations');
    expect(participations.filter((r) => r.status === 200)).toHaveLength(15);
    expect(participations.find((r) => r.status === 200)!.headers.get('x-amzn-ratelimit-limit')).toBe('0.016');
    const limited = participations.find((r) => r.status === 429)!;
    expect(await limited.json()).toEqual({ errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }] });
    expect(limited.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(limited.headers.get('x-amzn-ratelimit-limit')).toBeNull();
    const inventory = await parallel(6, INVENTORY);
    expect(inventory.filter((r) => r.status === 200)).toHaveLength(2);
    expect(inventory.find((r) => r.status === 200)!.headers.get('x-amzn-ratelimit-limit')).toBe('2.0');
    // Refilled at 2 per second.
    await new Promise((r) => setTimeout(r, 600));
    expect((await sp(g.accessToken, INVENTORY, '/eu')).status).toBe(200);
  });

  it('FBA inventory pages with pagination.nextToken until the last page; a forged token is refused', async () => {
    const g = s.oauth.mintGrant('amazon-sp-api', { clientId: app.clientId, region: 'eu' });
    const skus: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      if (pages > 0) await new Promise((r) => setTimeout(r, 550));
      const res = await sp(g.accessToken, `${INVENTORY}${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`, '/eu');
      const body = (await res.json()) as { payload: { inventorySummaries: Array<{ sellerSku: string }> }; pagination?: { nextToken?: string } };
      skus.push(...body.payload.inventorySummaries.map((x) => x.sellerSku));
      next = body.pagination?.nextToken;
      pages++;
    } while (next);
    expect(pages).toBe(3);
    expect(new Set(skus).size).toBe(120);
    await new Promise((r) => setTimeout(r, 550));
    const forged = await sp(g.accessToken, `${INVENTORY}&nextToken=bm9wZQ`, '/eu');
    expect([forged.status, ((await forged.json()) as { errors: Array<{ code: string }> }).errors[0]!.code]).toEqual([400, 'InvalidInput']);
  });
});
