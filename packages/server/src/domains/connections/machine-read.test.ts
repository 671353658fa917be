import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, type Account, createApiKey } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

async function keyFor(owner: Account, scopes: string[]) {
  return (await createApiKey(t.app, t.clock, owner, { name: 'svc', scopes, role: 'member' })).key;
}

describe('GET /api/connections/:provider/credentials', () => {
  it("gives an API key with 'credentials:read' the plaintext of its own tenant's connection, by label", async () => {
    const a = await signup(t.app);
    const key = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;
    const eu = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'stripe', apiKey: key } });
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'stripe', apiKey: eu, label: 'eu' } });
    const apiKey = await keyFor(a, ['credentials:read']);
    const read = await t.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(apiKey) });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().data).toMatchObject({ provider: 'stripe', label: 'default', credentials: { apiKey: key }, credentialVersion: 1 });
    const euRead = await t.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials?label=eu', headers: bearer(apiKey) });
    expect(euRead.json().data.credentials.apiKey).toBe(eu);
    const missing = await t.app.inject({ method: 'GET', url: '/api/connections/openai/credentials', headers: bearer(apiKey) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().actions[0]).toMatchObject({ label: 'Connect OpenAI' });
  });

  it("carries the provider's base URL as this server is configured, filled from the connection's non-secret config", async () => {
    const a = await signup(t.app);
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_baseurl' } });
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'shopify', apiKey: 'shpat_baseurl', additionalConfig: { storeDomain: 'acme.myshopify.com' } } });
    const apiKey = await keyFor(a, ['credentials:read']);
    const read = async (provider: string) => (await t.app.inject({ method: 'GET', url: `/api/connections/${provider}/credentials`, headers: bearer(apiKey) })).json().data;
    expect((await read('stripe')).baseUrl).toBe('https://api.stripe.com');
    expect((await read('shopify')).baseUrl).toBe('https://acme.myshopify.com');

    // A server whose catalog points Stripe elsewhere (the demo: at the sandbox) says so.
    const elsewhere = await testApp({ providerBaseUrls: { stripe: 'http://127.0.0.1:9/stripe/' } });
    try {
      const b = await signup(elsewhere.app);
      await elsewhere.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(b.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_elsewhere' } });
      const key = (await createApiKey(elsewhere.app, elsewhere.clock, b, { name: 'svc', scopes: ['credentials:read'], role: 'member' })).key;
      const res = await elsewhere.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(key) });
      expect(res.json().data.baseUrl).toBe('http://127.0.0.1:9/stripe');
    } finally {
      await elsewhere.close();
    }
  });

  it('never hands out userinfo (user:pass@) that a configured base URL carries', async () => {
    const withUserinfo = await testApp({ providerBaseUrls: { stripe: 'http://proxyuser:proxy-secret@127.0.0.1:9/stripe/' } });
    try {
      const b = await signup(withUserinfo.app);
      await withUserinfo.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(b.accessToken), payload: { serviceName: 'stripe', apiKey: 'sk_test_userinfo' } });
      const key = (await createApiKey(withUserinfo.app, withUserinfo.clock, b, { name: 'svc', scopes: ['credentials:read'], role: 'member' })).key;
      const res = await withUserinfo.app.inject({ method: 'GET', url: '/api/connections/stripe/credentials', headers: bearer(key) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().data.baseUrl).toBe('http://127.0.0.1:9/stripe');
      expect(res.body).not.toContain('proxy-secret');
    } finally {
      await withUserinfo.close();
    }
  });

  it('refuses people, keys without the scope, and never crosses tenants', async () => {
    const a = await signup(t.app);
    const b = await signup(t.app);
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'resend', apiKey: 're_tenant_a_key' } });
    expect((await t.app.inject({ method: 'GET', url: '/api/connections/resend/credentials', headers: bearer(a.accessToken) })).statusCode).toBe(403);
    const proxyOnly = await keyFor(a, ['proxy']);
    expect((await t.app.inject({ method: 'GET', url: '/api/connections/resend/credentials', headers: bearer(proxyOnly) })).json().error).toBe("This API key lacks the 'credentials:read' scope");
    const bKey = await keyFor(b, ['credentials:read']);
    const cross = await t.app.inject({ method: 'GET', url: '/api/connections/resend/credentials', headers: bearer(bKey) });
    expect(cross.statusCode).toBe(404);
    expect(cross.body).not.toContain('re_tenant_a_key');
  });

  it('audits reads once per key and connection per hour and coalesces last_used', async () => {
    const a = await signup(t.app);
    const { id } = (await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(a.accessToken), payload: { serviceName: 'openai', apiKey: 'sk-proj-machine' } })).json().data;
    const apiKey = await keyFor(a, ['credentials:read']);
    for (let i = 0; i < 5; i++) await t.app.inject({ method: 'GET', url: '/api/connections/openai/credentials', headers: bearer(apiKey) });
    const reads = async () =>
      (await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('audit_logs').select('id').where('action', '=', 'api_credentials.machine_read').execute())).length;
    expect(await reads()).toBe(1);
    t.clock.advance(61 * 60_000);
    await t.app.inject({ method: 'GET', url: '/api/connections/openai/credentials', headers: bearer(apiKey) });
    expect(await reads()).toBe(2);
    const c = await adminClient();
    const { rows } = await c.query('select last_used_at from connections where id = $1', [id]);
    await c.end();
    expect(rows[0].last_used_at).not.toBeNull();
  });
});
