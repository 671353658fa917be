import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';
import type { Provider } from '../catalog/catalog.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
let port: number;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true, breaker: { threshold: 5, cooldownMs: 60_000 } });
  port = Number(new URL(await h.t.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(() => h.close());

type Answer = { statusCode: number; headers: Record<string, string | string[] | undefined>; body: string; json(): { code?: string; error?: string } };
/** Sent byte for byte over HTTP (no client-side encoding of `{`/`}`), as an attacker would. */
const proxy = (token: string, path: string, headers: Record<string, string> = {}, init: { method?: string; payload?: string } = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: init.method ?? 'GET', path: `/api/proxy${path}`, headers: { ...bearer(token), ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end(init.payload);
  });

/** Stores a connection with exactly these secrets and config, as a finished connect flow would. */
async function plant(acct: Account, provider: Provider, label: string, secrets: Record<string, string>, config: Record<string, string>) {
  await h.t.services.authorize.saveAccount({ tenantId: acct.tenantId, actor: systemActor }, provider, label, { id: null, name: label, config, secrets }, { accessToken: '' });
}

async function allowConnections(acct: Account, max: number) {
  const admin = new pg.Client({ connectionString: h.scratch!.adminUrl });
  await admin.connect();
  await admin.query('update tenants set max_connections = $1 where id = $2', [max, acct.tenantId]);
  await admin.end();
}

/** Every name a connection's secrets object can hold for this provider. */
const secretNames = (p: Provider) => [...new Set([...p.credentialFields.filter((f) => f.secret).map((f) => f.name), ...(p.oauth ? ['accessToken', 'refreshToken'] : [])])];

function configFor(p: Provider, run: string): Record<string, string> {
  const values: Record<string, string> = {
    storeDomain: `c${run}.myshopify.com`, baseUrl: h.sandbox.baseUrlFor('custom'), headerName: 'X-Custom-Key',
    headerTemplate: 'Token {{apiKey}}', verifyPath: '/v1/me', customerId: 'C-100', orgSubdomain: 'acme', region: 'na',
  };
  // The provider account (routing key) is unique across connections: digits of this run's own.
  const account = p.oauth?.routingKeyField;
  if (account && account !== 'storeDomain') values[account] = String(parseInt(run, 16));
  return Object.fromEntries((p.configFields ?? []).map((f) => [f.name, values[f.name] ?? f.example ?? '12345']));
}

/** The headers the catalog's injection sets: the only place a secret may travel. */
function injectedHeaderNames(p: Provider, config: Record<string, string>): Set<string> {
  if (p.authMode === 'custom') return new Set([config.headerName!.toLowerCase()]);
  const names = Object.keys(p.inject.headers ?? {}).map((n) => n.replace(/\{\{(\w+)\}\}/g, (_, k: string) => config[k] ?? '').toLowerCase());
  if (p.inject.basicAuth) names.push('authorization');
  if (p.inject.scheme === 'unleashed_hmac') names.push('api-auth-signature');
  return new Set(names);
}

describe('proxy: a client placeholder is never filled with a secret', () => {
  it('for every provider and every secret it holds, {{field}} in the path, the query, a header or the body travels as written', async () => {
    const acct = await signup(h.t.app);
    const providers = h.t.services.catalog.list();
    await allowConnections(acct, 1000);
    const vectors = ['path', 'query', 'header', 'body'] as const;
    const cases: Array<{ p: Provider; field: string; vector: (typeof vectors)[number]; label: string; marker: string; canaries: string[]; injected: Set<string> }> = [];
    for (const p of providers) {
      const run = randomBytes(4).toString('hex');
      // Word characters only, so a provider answer that echoes an id (Stripe's "No such customer: 'cus_…'") would carry it.
      const secrets = Object.fromEntries(secretNames(p).map((f) => [f, `CANARY_${p.id.replaceAll('-', '_')}_${f}_${randomBytes(12).toString('hex')}`]));
      for (const f of p.credentialFields) secrets[f.name] ??= `plain_${f.name}_${run}`;
      for (const field of secretNames(p)) {
        for (const vector of vectors) {
          const label = `${field}-${vector}`.toLowerCase();
          const config = configFor(p, randomBytes(4).toString('hex'));
          await plant(acct, p, label, secrets, config);
          cases.push({ p, field, vector, label, marker: `probe-${run}-${label}`, canaries: secretNames(p).map((n) => secrets[n]!), injected: injectedHeaderNames(p, config) });
        }
      }
    }
    const placeholder = (c: (typeof cases)[number]) => `{{${c.field}}}`;
    const problems: string[] = [];
    const leaks = (text: string, c: (typeof cases)[number]) => c.canaries.some((canary) => text.includes(canary));
    for (const c of cases) {
      const [path, headers, init] =
        c.vector === 'path' ? [`/${c.marker}/cus_${placeholder(c)}`, {}, {}]
        : c.vector === 'query' ? [`/${c.marker}?k=${placeholder(c)}&expand[]=x${placeholder(c)}`, {}, {}]
        : c.vector === 'header' ? [`/${c.marker}`, { 'x-canary': placeholder(c) }, {}]
        : [`/${c.marker}`, { 'content-type': 'application/json' }, { method: 'POST', payload: JSON.stringify({ k: placeholder(c) }) }];
      const res = await proxy(acct.accessToken, `/${c.p.id}${path}`, { ...headers, 'x-connection-label': c.label }, init);
      const where = `${c.p.id} ${c.field} in the ${c.vector}`;
      if (res.headers['x-keyhold-error']) problems.push(`${where}: Keyhold refused: ${res.body}`);
      if (leaks(`${res.body} ${JSON.stringify(res.headers)}`, c)) problems.push(`${where}: a secret came back to the client`);
      const seen = h.sandbox.requests().filter((r) => r.provider === c.p.id && r.path.includes(c.marker));
      if (seen.length !== 1) {
        problems.push(`${where}: ${seen.length} requests reached the provider`);
        continue;
      }
      const sent = seen[0]!;
      const visible = JSON.stringify({ path: sent.path, query: sent.query, body: sent.body, headers: Object.fromEntries(Object.entries(sent.headers).filter(([k]) => !c.injected.has(k))) });
      if (leaks(visible, c)) problems.push(`${where}: a secret reached the provider outside its auth header`);
      // It reached the provider with the placeholder as the client wrote it.
      const travelled = { path: decodeURIComponent(sent.path), query: decodeURIComponent(sent.query), header: sent.headers['x-canary'] ?? '', body: sent.body }[c.vector];
      if (!travelled.includes(placeholder(c))) problems.push(`${where}: the placeholder did not travel as written`);
    }
    expect(new Set(cases.map((c) => c.p.id)).size).toBe(providers.length); // every provider, custom included
    expect(problems, `${problems.length} problems in ${cases.length} requests`).toEqual([]);
    for (const c of cases) expect(leaks(h.t.logs.text(), c), `${c.p.id}: a secret in the logs`).toBe(false);
  });

  it("a key with only the proxy scope cannot read the tenant's Stripe key through the provider's 404", async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('stripe');
    h.sandbox.seed('stripe', seed);
    expect((await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'stripe', ...body } })).statusCode).toBe(201);
    const key = (await h.t.app.inject({ method: 'POST', url: '/api/api-keys', headers: bearer(acct.accessToken), payload: { name: 'proxy only', scopes: ['proxy'] } })).json().data.key as string;
    const res = await proxy(key, '/stripe/v1/customers/cus_{{apiKey}}');
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain(seed.apiKey!);
    const sent = h.sandbox.requests().filter((r) => r.provider === 'stripe').at(-1)!;
    expect(decodeURIComponent(sent.path)).toBe('/v1/customers/cus_{{apiKey}}');
    const query = await proxy(key, '/stripe/v1/balance?k={{apiKey}}');
    expect(query.statusCode).toBe(200);
    expect(h.sandbox.requests().filter((r) => r.provider === 'stripe').at(-1)!.query).toBe('?k={{apiKey}}');
  });
});

const statusOf = async (acct: Account, provider: string) =>
  (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select('status').where('provider', '=', provider).executeTakeFirstOrThrow())).status;
const eventsOf = async (acct: Account) => (await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connection_events').select('type').execute())).map((e) => e.type);

describe('proxy: client mistakes never count against the connection', () => {
  it('unknown placeholders, past the breaker threshold, leave the connection active and usable', async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('openai');
    h.sandbox.seed('openai', seed);
    await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'openai', ...body } });
    for (let i = 0; i < 8; i++) {
      const res = await proxy(acct.accessToken, '/openai/v1/{{nope}}');
      expect([res.statusCode, res.headers['x-keyhold-error']]).toEqual([404, undefined]); // the provider's own answer
    }
    expect((await proxy(acct.accessToken, '/openai/v1/models')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(await statusOf(acct, 'openai')).toBe('active');
    expect(await eventsOf(acct)).toEqual(['connected']); // only its creation
  });

  it('a request Keyhold cannot build (non-secret config missing) is a 400 with a stable code, never a provider failure', async () => {
    const acct = await signup(h.t.app);
    const shopify = h.t.services.catalog.get('shopify');
    const store = `nocfg-${randomBytes(4).toString('hex')}.myshopify.com`;
    const token = `shpat_${randomBytes(12).toString('hex')}`;
    h.sandbox.seed('shopify', { accessToken: token, storeDomain: store });
    await plant(acct, shopify, 'default', { accessToken: token }, {});
    const before = h.sandbox.requests().length;
    for (let i = 0; i < 8; i++) {
      const res = await proxy(acct.accessToken, '/shopify/admin/api/2025-07/shop.json');
      expect([res.statusCode, res.json().code, res.headers['x-keyhold-error']]).toEqual([400, 'VALIDATION_FAILED', 'VALIDATION_FAILED']);
      expect(res.json().error).toContain('storeDomain');
    }
    expect(h.sandbox.requests().length).toBe(before);
    await plant(acct, shopify, 'default', { accessToken: token }, { storeDomain: store }); // the same connection, now complete
    expect((await proxy(acct.accessToken, '/shopify/admin/api/2025-07/shop.json')).statusCode).toBe(200);
    expect(await statusOf(acct, 'shopify')).toBe('active');
    expect(await eventsOf(acct)).not.toContain('degraded');
  });

  it("a client's Expect: 100-continue (curl sends it for large bodies) is answered by Keyhold, not forwarded, and never a provider failure", async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('openai');
    h.sandbox.seed('openai', seed);
    await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'openai', ...body } });
    for (let i = 0; i < 8; i++) {
      const res = await proxy(acct.accessToken, '/openai/v1/chat/completions', { expect: '100-continue', 'content-type': 'application/json' }, { method: 'POST', payload: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(res.statusCode, res.body).toBe(200);
    }
    expect(h.sandbox.requests().filter((r) => r.provider === 'openai' && r.headers.expect !== undefined)).toEqual([]);
    expect(await statusOf(acct, 'openai')).toBe('active');
  });

  it('an upload that breaks off is the client\'s failure: 400, no retry, no breaker', async () => {
    const acct = await signup(h.t.app);
    const { body, seed } = credentialsFor('openai');
    h.sandbox.seed('openai', seed);
    await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'openai', ...body } });
    const principal = { tenantId: acct.tenantId, role: 'admin' as const, actor: systemActor };
    const brokenUpload = () => {
      let sent = 0;
      return new Readable({
        read() {
          if (sent++ < 4) this.push(Buffer.alloc(64 * 1024, 'a'));
          else this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })); // what Node gives when a client hangs up
        },
      });
    };
    for (let i = 0; i < 8; i++) {
      await expect(h.t.services.proxy.send(principal, 'openai', { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: brokenUpload() }))
        .rejects.toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
    }
    expect((await proxy(acct.accessToken, '/openai/v1/models')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(await statusOf(acct, 'openai')).toBe('active');
    expect(await eventsOf(acct)).toEqual(['connected']); // only its creation
  });

  it("an unexpected error of Keyhold's own is a logged 500, never counted against the provider", async () => {
    const acct = await signup(h.t.app);
    const catalog = h.t.services.catalog;
    const real = catalog.get;
    // Fault injection: an entry that cannot be read stands for any bug while building a request.
    const broken = Object.defineProperty({ ...real('openai'), id: 'broken-ai' }, 'inject', { get: () => { throw new TypeError('catalog entry cannot be read'); } });
    catalog.get = (id: string) => (id === 'broken-ai' ? broken : real(id));
    try {
      await plant(acct, broken, 'default', { apiKey: 'sk-unused' }, {});
      for (let i = 0; i < 8; i++) {
        const res = await proxy(acct.accessToken, '/broken-ai/v1/models');
        expect([res.statusCode, res.headers['x-keyhold-error']]).toEqual([500, 'INTERNAL_ERROR']);
      }
    } finally {
      catalog.get = real;
    }
    expect(h.t.logs.lines.filter((l) => l.includes('catalog entry cannot be read')).length).toBeGreaterThanOrEqual(8);
    expect(await statusOf(acct, 'broken-ai')).toBe('active');
    expect(await eventsOf(acct)).not.toContain('degraded');
  });
});
