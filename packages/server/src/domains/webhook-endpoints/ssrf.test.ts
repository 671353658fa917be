import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../../test-support/accounts.js';
import { type OutboundHarness, outboundHarness } from '../../test-support/outbound-webhooks.js';

/** Names the test controls: what each resolves to can change between the check and the send. */
const dns = new Map<string, string>([['internal.example.test', '10.0.0.5'], ['hooks.example.test', '93.184.216.34']]);
let h: OutboundHarness;
beforeAll(async () => {
  h = await outboundHarness({
    allowPrivateProviderUrls: false,
    resolveHost: async (host) => {
      const address = dns.get(host);
      if (!address) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    },
  });
}, 60_000);
afterAll(() => h?.close());

describe('webhook endpoints: the SSRF guard of tenant URLs', () => {
  it.each([
    ['http://hooks.example.test/in', 'url: must use https'],
    ['https://127.0.0.1/in', 'url: must be a public address'],
    ['https://169.254.169.254/latest/meta-data', 'url: must be a public address'],
    ['https://[::1]/in', 'url: must be a public address'],
    ['https://[::ffff:127.0.0.1]/in', 'url: must be a public address'],
    ['https://[fd00::1]/in', 'url: must be a public address'],
    ['https://localhost/in', 'url: must be a public address'],
    ['https://internal.example.test/in', 'url: must be a public address'],
    ['https://nowhere.example.test/in', 'url: does not resolve'],
    ['https://user:pw@hooks.example.test/in', 'url: must not contain credentials'],
  ])('refuses %s when created or moved there, and writes nothing', async (url, why) => {
    const o = await h.owner();
    const res = await h.t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, payload: { url, eventTypes: ['*'] } });
    expect([res.statusCode, res.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.json().error).toContain(why);
    expect((await h.t.app.inject({ method: 'GET', url: '/api/webhook-endpoints', headers: bearer(o.acct.accessToken) })).json().data).toEqual([]);

    const ep = await h.createEndpoint(o, { url: 'https://hooks.example.test/in', eventTypes: ['*'] });
    const moved = await h.t.app.inject({ method: 'PUT', url: `/api/webhook-endpoints/${ep.id}/url`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, payload: { url } });
    expect([moved.statusCode, moved.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(moved.json().error).toContain(why);
    expect((await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken) })).json().data.url).toBe('https://hooks.example.test/in');
  });

  it('a name that resolves to a private address by the time of the send is refused at the send (url_refused), nothing connects', async () => {
    const o = await h.owner();
    dns.set('rebind.example.test', '93.184.216.34');
    const ep = await h.createEndpoint(o, { url: 'https://rebind.example.test/in', eventTypes: ['*'] });
    dns.set('rebind.example.test', '127.0.0.1');
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const [d] = (await h.deliveriesOf(o.acct, ep.id)).data;
    expect([d.status, d.lastStatus, d.lastError]).toEqual(['pending', null, 'url_refused']);
  });
});
