import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup, totpAt, enrolMfa } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { testApp } from '../../test-support/index.js';
import { loadCatalog } from '../catalog/catalog.js';
import { unleashedSignature } from '../../providers/unleashed/index.js';
import { buildProviderRequest } from './provider-request.js';

let sandbox: Sandbox;
let t: Awaited<ReturnType<typeof testApp>>;
let acct: Account;
const API_KEY_MODES = new Set(['api_key', 'basic', 'hmac_unleashed']);
/** Every API-key provider of the catalog (custom excluded: its base URL is the tenant's own). */
const apiKeyProviders = loadCatalog().list().filter((p) => API_KEY_MODES.has(p.authMode));

beforeAll(async () => {
  sandbox = await createSandbox();
  t = await testApp({ providerBaseUrls: Object.fromEntries([...apiKeyProviders.map((p) => p.id), 'shopify'].map((id) => [id, sandbox.baseUrlFor(id)])) });
  acct = await signup(t.app);
});
afterAll(async () => {
  await t.close();
  await sandbox.close();
});

const testConnection = (body: object) => t.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(acct.accessToken), payload: body });

describe('test-connection for every API-key provider of the catalog', () => {
  it('covers every API-key provider with a sandbox counterpart', () => {
    expect([...apiKeyProviders.map((p) => p.id), 'custom', 'shopify'].sort()).toEqual(sandbox.providers().sort());
  });

  for (const provider of apiKeyProviders) {
    it(`${provider.id}: valid credentials pass, invalid ones fail, nothing is saved`, async () => {
      const { body, seed } = credentialsFor(provider.id);
      sandbox.seed(provider.id, seed);
      const good = await testConnection({ serviceName: provider.id, ...body });
      expect(good.statusCode, good.body).toBe(200);
      expect(good.json()).toMatchObject({ success: true, message: 'Connection test successful', data: { serviceName: provider.id, connectionStatus: 'active' } });
      const key = String(body.apiKey);
      const wrong = { ...body, apiKey: `${key.slice(0, -4)}${key.endsWith('ffff') ? 'eeee' : 'ffff'}` };
      const bad = await testConnection({ serviceName: provider.id, ...wrong });
      expect(bad.statusCode, bad.body).toBe(422);
      expect(bad.json()).toMatchObject({ success: false, message: 'Invalid API credentials', error: 'Connection test failed', code: 'CONNECTION_TEST_FAILED' });
      expect(bad.body).not.toContain(String(wrong.apiKey));
    });
  }

  it('an unreachable or failing provider is 502 INTEGRATION_UNAVAILABLE, not a credential error', async () => {
    const { body, seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    sandbox.fail('stripe', { status: 503, times: 1 });
    const down = await testConnection({ serviceName: 'stripe', ...body });
    expect(down.statusCode).toBe(502);
    expect(down.json()).toMatchObject({ code: 'INTEGRATION_UNAVAILABLE', data: { providerStatus: 503 } });
    expect((await testConnection({ serviceName: 'stripe', ...body })).statusCode).toBe(200); // healed after one failure
    const nowhere = await testApp({ providerBaseUrls: { stripe: 'http://127.0.0.1:9' } });
    const other = await signup(nowhere.app);
    const res = await nowhere.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(other.accessToken), payload: { serviceName: 'stripe', ...body } });
    await nowhere.close();
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('INTEGRATION_UNAVAILABLE');
  });

  it('a saved credential test updates status and last_verified', async () => {
    const { body, seed } = credentialsFor('openai');
    sandbox.seed('openai', seed);
    const { id } = (await t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'openai', ...body } })).json().data;
    const res = await t.app.inject({ method: 'POST', url: `/api/api-credentials/${id}/test`, headers: bearer(acct.accessToken) });
    expect(res.statusCode, res.body).toBe(200);
    const after = (await t.app.inject({ method: 'GET', url: `/api/api-credentials/${id}`, headers: bearer(acct.accessToken) })).json().data;
    expect(after.last_verified).not.toBeNull();
    expect(after.status).toBe('active');
  });
});

describe('Shopify admin API tokens', () => {
  it('verify against the token\'s own store: another store domain is refused', async () => {
    const token = `shpat_${crypto.randomUUID().replaceAll('-', '')}`;
    sandbox.seed('shopify', { accessToken: token, storeDomain: 'acme.myshopify.com' });
    const body = (storeDomain: string) => ({ serviceName: 'shopify', apiKey: token, additionalConfig: { storeDomain } });
    const good = await testConnection(body('acme.myshopify.com'));
    expect(good.statusCode, good.body).toBe(200);
    expect((await testConnection(body('other.myshopify.com'))).statusCode).toBe(422);
    expect((await testConnection(body('acme.example.com'))).statusCode).toBe(400);
  });
});

describe('custom providers', () => {
  it('refuse non-https, loopback, private and metadata base URLs', async () => {
    for (const baseUrl of ['http://127.0.0.1', 'https://169.254.169.254', 'https://10.0.0.1', 'https://[::1]', 'https://localhost']) {
      const res = await t.app.inject({
        method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken),
        payload: { serviceName: 'custom', apiKey: 'k', label: `c${Math.random().toString(36).slice(2, 8)}`, additionalConfig: { baseUrl, headerName: 'X-Key', headerTemplate: '{{apiKey}}' } },
      });
      expect(res.statusCode, baseUrl).toBe(400);
      expect(res.json().error).toMatch(/^additionalConfig\.baseUrl: (must use https|must be a public address)/);
    }
  });

  it('call the tenant-defined API with its header template (private URLs allowed by the operator)', async () => {
    const local = await testApp({ allowPrivateProviderUrls: true });
    try {
      const owner = await signup(local.app);
      sandbox.seed('custom', { apiKey: 'custom-secret-1', headerName: 'x-custom-key', prefix: 'Token ' });
      const body = (apiKey: string) => ({ serviceName: 'custom', apiKey, additionalConfig: { baseUrl: sandbox.baseUrlFor('custom'), headerName: 'X-Custom-Key', headerTemplate: 'Token {{apiKey}}', verifyPath: '/v1/me' } });
      const test = (apiKey: string) => local.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(owner.accessToken), payload: body(apiKey) });
      expect((await test('custom-secret-1')).statusCode).toBe(200);
      expect((await test('custom-secret-2')).statusCode).toBe(422);
      // The tenant's verify path is used as written: a placeholder in it is never filled with the key.
      const templated = await local.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(owner.accessToken), payload: { ...body('custom-secret-1'), additionalConfig: { ...body('').additionalConfig, verifyPath: '/v1/me?k={{apiKey}}' } } });
      expect(templated.statusCode).toBe(200);
      expect(sandbox.requests().at(-1)).toMatchObject({ provider: 'custom', path: '/v1/me', query: '?k={{apiKey}}' });
      // Rotating a tenant-defined API's key is verified against its own verify path too.
      const saved = (await local.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(owner.accessToken), payload: body('custom-secret-1') })).json().data;
      const code = await enrolMfa(local.app, local.clock, owner);
      const rotate = async (apiKey: string) => local.app.inject({ method: 'PUT', url: `/api/api-credentials/${saved.id}`, headers: { ...bearer(owner.accessToken), 'x-mfa-code': await code() }, payload: { apiKey } });
      expect([(await rotate('custom-secret-2')).statusCode]).toEqual([422]);
      const accepted = await rotate('custom-secret-1');
      expect([accepted.statusCode, typeof accepted.json().data.last_verified]).toEqual([200, 'string']);
    } finally {
      await local.close();
    }
  });
});

describe('rotation verifies the new secret first', () => {
  it('keeps the old secret when the provider rejects the new one, and switches when it accepts', async () => {
    const owner = await signup(t.app);
    const { secret } = (await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(owner.accessToken) })).json().data;
    await t.app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(owner.accessToken), payload: { code: await totpAt(secret, t.clock()) } });
    const nextCode = async () => {
      t.clock.advance(30_000);
      return totpAt(secret, t.clock());
    };
    const old = credentialsFor('resend');
    sandbox.seed('resend', old.seed);
    const { id } = (await t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(owner.accessToken), payload: { serviceName: 'resend', ...old.body } })).json().data;
    const put = async (apiKey: string) =>
      t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}`, headers: { ...bearer(owner.accessToken), 'x-mfa-code': await nextCode() }, payload: { apiKey } });
    const rejected = await put('re_not_seeded_anywhere');
    expect(rejected.statusCode).toBe(422);
    expect(rejected.json()).toMatchObject({ code: 'CONNECTION_TEST_FAILED', error: 'Resend did not accept the new credentials; the current ones stay in use' });
    const reveal = async () => (await t.app.inject({ method: 'GET', url: `/api/api-credentials/${id}/reveal`, headers: { ...bearer(owner.accessToken), 'x-mfa-code': await nextCode() } })).json().data.api_key;
    expect(await reveal()).toBe(old.body.apiKey);
    const fresh = credentialsFor('resend');
    sandbox.seed('resend', fresh.seed);
    const accepted = await put(String(fresh.body.apiKey));
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json().data.last_verified).not.toBeNull();
    expect(await reveal()).toBe(fresh.body.apiKey);
  });
});

describe('Unleashed request signing', () => {
  it('matches a known vector and signs the query string of each request', () => {
    expect(unleashedSignature('KeyholdTestApiKey==', 'customerCode=ACME&pageSize=200')).toBe('fvh1WjxoteJlvrGxA3iDPqBEhcpXlUvUNA0phsFci+0=');
    expect(unleashedSignature('KeyholdTestApiKey==', '')).toBe('DeiopYfEHzTbNH8tisnJXUKhwTrO2ZMdMyI+ogwB7FA=');
    const unleashed = loadCatalog().get('unleashed');
    const req = buildProviderRequest(unleashed, { config: {}, secrets: { apiId: 'id-1', apiKey: 'KeyholdTestApiKey==' } }, '/Customers?customerCode=ACME&pageSize=200');
    expect(req.headers).toMatchObject({ 'api-auth-id': 'id-1', 'api-auth-signature': 'fvh1WjxoteJlvrGxA3iDPqBEhcpXlUvUNA0phsFci+0=', 'client-type': 'keyhold/integration', accept: 'application/json' });
  });
});
