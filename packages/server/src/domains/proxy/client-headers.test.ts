import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_AGENT } from '../../platform/http/provider-http.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

async function connect(acct: Account, provider: string) {
  const { body, seed } = credentialsFor(provider);
  h.sandbox.seed(provider, seed);
  const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: provider, ...body } });
  expect(res.statusCode, res.body).toBe(201);
}
const lastTo = (provider: string) => h.sandbox.requests().filter((r) => r.provider === provider).at(-1)!;

describe('headers Keyhold sends to providers', () => {
  it('names itself in User-Agent unless the client did (Resend refuses requests without one)', async () => {
    const acct = await signup(h.t.app);
    await connect(acct, 'resend'); // verified on save: Keyhold's own request
    expect(lastTo('resend').headers['user-agent']).toBe(USER_AGENT);
    const own = await h.t.app.inject({ method: 'GET', url: '/api/proxy/resend/domains', headers: { ...bearer(acct.accessToken), 'user-agent': 'resend-node:6.0.0', 'x-keyhold-max-wait': '5000' } });
    expect(own.statusCode, own.body).toBe(200);
    expect(lastTo('resend').headers['user-agent']).toBe('resend-node:6.0.0');
  });

  it("keeps a client's own API version (a catalog constant is only the default); never its credentials", async () => {
    const acct = await signup(h.t.app);
    await connect(acct, 'anthropic');
    await h.t.app.inject({ method: 'GET', url: '/api/proxy/anthropic/v1/models', headers: bearer(acct.accessToken) });
    expect(lastTo('anthropic').headers['anthropic-version']).toBe('2023-06-01');
    await h.t.app.inject({ method: 'GET', url: '/api/proxy/anthropic/v1/models', headers: { ...bearer(acct.accessToken), 'anthropic-version': '2025-01-01', 'x-api-key': 'sk-ant-not-the-tenants' } });
    const seen = lastTo('anthropic').headers;
    expect(seen['anthropic-version']).toBe('2025-01-01');
    expect(seen['x-api-key']).not.toBe('sk-ant-not-the-tenants');
  });
});
