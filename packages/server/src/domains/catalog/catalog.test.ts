import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { signup, bearer } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { CATALOG_DIR, loadCatalog } from './catalog.js';

const EXPECTED = ['amazon-sp-api', 'anthropic', 'assemblyai', 'capricorn', 'custom', 'kustomer', 'messenger', 'mux', 'openai', 'quickbooks', 'resend', 'shopify', 'slack', 'stripe', 'unleashed', 'wise', 'xero'];

describe('provider catalog', () => {
  it('has a valid entry for every supported provider', () => {
    const catalog = loadCatalog();
    expect(catalog.list().map((p) => p.id).sort()).toEqual(EXPECTED);
    for (const p of catalog.list()) {
      expect(p.credentialFields.some((f) => f.secret), `${p.id} has no secret field`).toBe(true);
      if (p.authMode === 'oauth2' || p.authMode === 'lwa_oauth2') expect(p.oauth, `${p.id} needs oauth endpoints`).toBeDefined();
      if (p.id !== 'custom') expect(p.verify, `${p.id} needs a verify request`).toBeDefined();
    }
    expect(catalog.get('shopify').configFields?.find((f) => f.name === 'storeDomain')?.pattern).toBe('^[a-zA-Z0-9][a-zA-Z0-9-_]*\\.myshopify\\.com$');
  });

  it('matches the field names the contract (and so the SDK types) declare', async () => {
    const { PROVIDER_FIELDS } = await import('@keyhold/contract');
    const fromCatalog = Object.fromEntries(loadCatalog().list().map((p) => [p.id, {
      credentials: Object.fromEntries(p.credentialFields.map((f) => [f.name, f.required !== false])),
      config: Object.fromEntries((p.configFields ?? []).map((f) => [f.name, f.required !== false])),
    }]));
    expect(fromCatalog).toEqual(PROVIDER_FIELDS);
  });

  it('refuses an invalid entry at load, naming the file and the problem', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-catalog-'));
    await cp(CATALOG_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, 'providers', 'broken.yaml'), 'id: broken\ndisplayName: Broken\ncategory: Gaming\nauthMode: api_key\nbaseUrl: http://insecure.example\ncredentialFields: []\ninject: {}\n');
    expect(() => loadCatalog({ dir })).toThrow(/catalog\/providers\/broken.yaml: .*category.*|catalog\/providers\/broken.yaml: .*baseUrl/);
  });

  it('refuses an entry whose URL templates name a secret, so no secret can ever be put into a URL', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-catalog-'));
    await cp(CATALOG_DIR, dir, { recursive: true });
    const entry = (over: string) => `id: leaky\ndisplayName: Leaky\ncategory: Payments\ndocs: docs/providers/leaky.md\nreviewedAt: 2026-11-27\nauthMode: api_key\ncredentialFields:\n  - { name: apiKey, label: Key, secret: true }\nconfigFields:\n  - { name: region, label: Region, secret: false }\n${over}`;
    const leaky = path.join(dir, 'providers', 'leaky.yaml');
    const cases: Array<[string, RegExp]> = [
      ["baseUrl: 'https://{{apiKey}}.example.com'\ninject: {}\n", /leaky.yaml: baseUrl may only name non-secret config fields, not 'apiKey'/],
      ["baseUrl: https://api.example.com\ninject: {}\nverify: { method: GET, path: '/v1/me?key={{apiKey}}' }\n", /verify.path may only name non-secret config fields, not 'apiKey'/],
      ["baseUrl: https://api.example.com\ninject: { headers: { 'x-{{apiKey}}': '1' } }\n", /inject.headers name .* not 'apiKey'/],
      ["baseUrl: https://api.example.com\ninject: { headers: { authorization: 'Bearer {{apiKy}}' } }\n", /inject names 'apiKy', which is not a field/],
    ];
    for (const [over, problem] of cases) {
      await writeFile(leaky, entry(over));
      expect(() => loadCatalog({ dir })).toThrow(problem);
    }
    await writeFile(leaky, entry("baseUrl: 'https://{{region}}.example.com'\ninject: { headers: { authorization: 'Bearer {{apiKey}}' } }\nverify: { method: GET, path: '/v1/{{region}}/me' }\n"));
    expect(loadCatalog({ dir }).get('leaky').baseUrl).toBe('https://{{region}}.example.com');
    // An operator's override is held to the same rule.
    expect(() => loadCatalog({ baseUrlOverrides: { shopify: 'https://{{accessToken}}.example.com' } })).toThrow(/KEYHOLD_PROVIDER_SHOPIFY_BASE_URL: baseUrl may only name non-secret config fields, not 'accessToken'/);
  });

  it('answers 400 UNKNOWN_PROVIDER for an unknown id', () => {
    expect(() => loadCatalog().get('myspace')).toThrow(expect.objectContaining({ code: 'UNKNOWN_PROVIDER', httpStatus: 400 }));
  });

  it('takes base URL overrides from KEYHOLD_PROVIDER_<ID>_BASE_URL', () => {
    const config = loadConfig({ NODE_ENV: 'test', KEYHOLD_PROVIDER_AMAZON_SP_API_BASE_URL: 'http://127.0.0.1:4010/', KEYHOLD_PROVIDER_STRIPE_BASE_URL: 'http://127.0.0.1:4011' });
    const catalog = loadCatalog({ baseUrlOverrides: config.providerBaseUrls });
    expect(catalog.get('amazon-sp-api').baseUrl).toBe('http://127.0.0.1:4010');
    expect(catalog.get('stripe').baseUrl).toBe('http://127.0.0.1:4011');
    expect(() => loadCatalog({ baseUrlOverrides: { myspace: 'http://x' } })).toThrow(/KEYHOLD_PROVIDER_MYSPACE_BASE_URL: no provider 'myspace'/);
    expect(() => loadConfig({ NODE_ENV: 'test', KEYHOLD_PROVIDER_STRIPE_BASE_URL: 'ftp://x' })).toThrow(/KEYHOLD_PROVIDER_STRIPE_BASE_URL: must be an http\(s\) URL/);
  });
});

describe('GET /api/providers', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it('lists the catalog by category for any signed-in user, and nothing secret', async () => {
    const acct = await signup(t.app);
    expect((await t.app.inject({ method: 'GET', url: '/api/providers' })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'GET', url: '/api/providers', headers: bearer(acct.accessToken) });
    expect(res.statusCode).toBe(200);
    const { categories, providers } = res.json().data;
    expect(categories).toEqual(['Accounting', 'E-commerce', 'ERP', 'Payments', 'Email', 'Media', 'AI', 'Messaging', 'Support', 'EDI', 'Custom']);
    expect(providers.map((p: { id: string }) => p.id).sort()).toEqual(EXPECTED);
    const stripe = providers.find((p: { id: string }) => p.id === 'stripe');
    expect(stripe).toMatchObject({ category: 'Payments', authMode: 'api_key', canTestConnection: true, webhooks: true });
    expect(stripe.credentialFields[0]).toMatchObject({ name: 'apiKey', secret: true, required: true });
    expect(stripe).toMatchObject({ docs: 'docs/providers/stripe.md', reviewedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // Catalog routes expose what a form needs; never endpoints, header templates or OAuth data.
    expect(res.body).not.toMatch(/tokenUrl|authorizeUrl|"inject"|client_secret|api\.stripe\.com|identity\.xero\.com/);
  });
});
