import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { createProviderHttp } from '../../platform/http/provider-http.js';
import { createTenantUrlGuard } from '../../platform/http/public-dispatcher.js';
import { createMetrics } from '../../platform/metrics.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { createBreakers } from './breaker.js';
import { createRateLimiter } from './limits.js';
import { createLimitsRepo } from './limits.repo.js';
import { type ProxyDeps, type UpstreamRefusal, createProxyService } from './proxy.service.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const proxy = (acct: Account | string, path: string) =>
  h.t.app.inject({ method: 'GET', url: `/api/proxy${path}`, headers: bearer(typeof acct === 'string' ? acct : acct.accessToken) });

async function connectStripe(acct: Account) {
  const { body, seed } = credentialsFor('stripe');
  h.sandbox.seed('stripe', seed);
  const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'stripe', ...body } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.id as string;
}

/** A proxy over the test services with its own store hook (and logger). */
const proxyWith = (extra: Pick<ProxyDeps, 'onUpstreamRefusal' | 'log'>) =>
  createProxyService({
    connections: h.t.services.connections,
    catalog: h.t.services.catalog,
    limiter: createRateLimiter({ repo: createLimitsRepo(), tenancy: h.t.db }),
    breakers: createBreakers({}),
    metrics: createMetrics({ defaultMetrics: false }),
    http: createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: true }) }),
    ...extra,
  });

describe("a provider's own 401/403 through the proxy", () => {
  it('is passed through unchanged but marked X-Keyhold-Upstream-Status, never X-Keyhold-Error', async () => {
    const acct = await signup(h.t.app);
    await connectStripe(acct);
    for (const status of [401, 403]) {
      h.sandbox.fail('stripe', { status, times: 1, path: '/v1/balance' });
      const res = await proxy(acct, '/stripe/v1/balance');
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual({ error: 'injected failure' });
      expect(res.headers['x-keyhold-upstream-status']).toBe(String(status));
      expect(res.headers['x-keyhold-error']).toBeUndefined();
    }
    // The provider's success is not marked; Keyhold's own refusal is marked as Keyhold's.
    const fine = await proxy(acct, '/stripe/v1/balance');
    expect([fine.statusCode, fine.headers['x-keyhold-upstream-status']]).toEqual([200, undefined]);
    const ours = await proxy('not-a-token', '/stripe/v1/balance');
    expect(ours.statusCode).toBe(401);
    expect(ours.headers['x-keyhold-error']).toBeDefined();
    expect(ours.headers['x-keyhold-upstream-status']).toBeUndefined();
  });

  it('for OAuth, the 401 that triggers the refresh is not shown; a 401 after the refresh is, marked', async () => {
    const acct = await signup(h.t.app);
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: `acct-${crypto.randomUUID()}` } })).statusCode).toBe(302);
    const refreshes = h.sandbox.oauth.stats().xero.refresh;
    const calls = () => h.sandbox.requests().filter((r) => r.provider === 'xero' && r.path === '/connections').length;
    h.sandbox.fail('xero', { status: 401, times: 1, path: '/connections' });
    let before = calls();
    const recovered = await proxy(acct, '/xero/connections');
    expect([recovered.statusCode, recovered.headers['x-keyhold-upstream-status']]).toEqual([200, undefined]);
    expect(calls() - before).toBe(2);
    expect(h.sandbox.oauth.stats().xero.refresh).toBe(refreshes + 1);
    h.sandbox.fail('xero', { status: 401, times: 2, path: '/connections' });
    before = calls();
    const refused = await proxy(acct, '/xero/connections');
    expect([refused.statusCode, refused.headers['x-keyhold-upstream-status']]).toEqual([401, '401']);
    expect(calls() - before).toBe(2);
    // The provider just accepted the refresh token, so the grant lives: one refused call (a scope,
    // an endpoint) is no reason to stop the connection, which stays usable.
    const status = (await h.t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(acct.accessToken) })).json().data[0].status;
    expect(status).toBe('active');
    expect((await proxy(acct, '/xero/connections')).statusCode).toBe(200);
  });

  it("a provider cannot forge Keyhold's marks: X-Keyhold-* headers in its answer never reach the client", async () => {
    const acct = await signup(h.t.app);
    const forger = createServer((req, res) => {
      req.resume();
      res.writeHead(req.url === '/v1/me' ? 200 : 401, { 'x-keyhold-error': 'UNAUTHORIZED', 'x-keyhold-upstream-status': '200', 'x-provider-trace': 't1' });
      res.end('{}');
    });
    await new Promise<void>((r) => forger.listen(0, '127.0.0.1', r));
    try {
      const baseUrl = `http://127.0.0.1:${(forger.address() as AddressInfo).port}`;
      const saved = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'custom', apiKey: 'k', additionalConfig: { baseUrl, headerName: 'X-Key', headerTemplate: '{{apiKey}}', verifyPath: '/v1/me' } } });
      expect(saved.statusCode, saved.body).toBe(201);
      const res = await proxy(acct, '/custom/v1/things');
      expect(res.statusCode).toBe(401);
      expect(res.headers['x-provider-trace']).toBe('t1');
      expect(res.headers['x-keyhold-error']).toBeUndefined();
      expect(res.headers['x-keyhold-upstream-status']).toBe('401');
    } finally {
      await new Promise((r) => forger.close(r));
    }
  });

  it('tells the connection store, once per refused answer, with the connection and the status (no body, no secret)', async () => {
    const acct = await signup(h.t.app);
    const connectionId = await connectStripe(acct);
    const noted: UpstreamRefusal[] = [];
    const proxyWithHook = proxyWith({ onUpstreamRefusal: async (r) => void noted.push(r) });
    const principal = { tenantId: acct.tenantId, role: 'admin' as const, actor: systemActor };
    h.sandbox.fail('stripe', { status: 403, times: 1, path: '/v1/balance' });
    const refused = await proxyWithHook.send(principal, 'stripe', { method: 'GET', path: '/v1/balance', headers: {} });
    refused.body.resume();
    expect([refused.status, refused.headers['x-keyhold-upstream-status']]).toEqual([403, '403']);
    const fine = await proxyWithHook.send(principal, 'stripe', { method: 'GET', path: '/v1/balance', headers: {} });
    fine.body.resume();
    expect(noted).toEqual([{ tenantId: acct.tenantId, connectionId, provider: 'stripe', status: 403 }]);
  });

  it('a store that fails to record the refusal does not change the answer', async () => {
    const acct = await signup(h.t.app);
    await connectStripe(acct);
    const warned: string[] = [];
    const proxyWithHook = proxyWith({
      onUpstreamRefusal: async () => {
        throw new Error('store down');
      },
      log: { warn: (_obj: unknown, msg?: string) => void warned.push(String(msg)) },
    });
    h.sandbox.fail('stripe', { status: 401, times: 1, path: '/v1/balance' });
    const res = await proxyWithHook.send({ tenantId: acct.tenantId, role: 'admin', actor: systemActor }, 'stripe', { method: 'GET', path: '/v1/balance', headers: {} });
    res.body.resume();
    expect(res.status).toBe(401);
    await expect.poll(() => warned, { timeout: 5_000 }).toEqual(['could not record the provider refusing the credentials']);
  });
});
