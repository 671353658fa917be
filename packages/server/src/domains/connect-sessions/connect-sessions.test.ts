import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { Keyhold } from '@keyhold/sdk';
import { redactUrlSecrets } from '../../platform/secrets.js';
import { adminClient, appClient } from '../../test-support/index.js';
import { consentAt, oauthHarness } from '../../test-support/oauth.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const app = () => h.t.app;
type Session = { id: string; token: string; url: string; expiresAt: string };

async function connectKey(acct: Account, scopes = ['connect'], role = 'admin') {
  return (await createApiKey(app(), h.t.clock, acct, { scopes, role })).key;
}
const createSession = (key: string, body: object, headers: Record<string, string> = {}) =>
  app().inject({ method: 'POST', url: '/api/connect/sessions', headers: { ...bearer(key), ...headers }, payload: body });
async function openSession(acct: Account, body: object = {}): Promise<Session> {
  const res = await createSession(await connectKey(acct), body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data;
}
const page = (token: string) => ({ authorization: `ConnectSession ${token}` });
const saveStripe = (token: string, body: object) => app().inject({ method: 'POST', url: '/api/connect/session/credentials', headers: page(token), payload: { serviceName: 'stripe', ...body } });
function stripeKey() {
  const { body, seed } = credentialsFor('stripe');
  h.sandbox.seed('stripe', seed);
  return body as { apiKey: string };
}

async function sql(q: string, params: unknown[] = []) {
  const c = await adminClient();
  try {
    return (await c.query(q, params)).rows;
  } finally {
    await c.end();
  }
}

describe('opening a Connect session', () => {
  it("needs an API key with the 'connect' scope and the admin role; people and other scopes are refused", async () => {
    const acct = await signup(app());
    const person = await createSession(acct.accessToken, {});
    expect([person.statusCode, person.json().code]).toEqual([403, 'FORBIDDEN']);
    const writer = await createSession(await connectKey(acct, ['credentials:write']), {});
    expect([writer.statusCode, writer.json().error]).toEqual([403, "This API key lacks the 'connect' scope"]);
    const member = await createSession(await connectKey(acct, ['connect'], 'member'), {});
    expect(member.statusCode).toBe(403);
    const ok = await createSession(await connectKey(acct), { allowedProviders: ['stripe'], endUser: { id: 'user-42', email: 'u@example.com' } });
    expect(ok.statusCode, ok.body).toBe(201);
    const s: Session = ok.json().data;
    expect(s.token).toMatch(/^khc_[A-Za-z0-9_-]{43}$/);
    expect(s.url).toBe(`http://keyhold.test/connect/${s.token}`);
    expect(new Date(s.expiresAt).getTime() - h.t.clock().getTime()).toBe(30 * 60_000);
  });

  it('stores only the hash of the token, and the audit entry names the session, never the token', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedOrigins: ['http://localhost:5173'] });
    const [row] = await sql('select * from connect_sessions where id = $1', [s.id]);
    expect(row.token_hash).toBe(sha256(s.token));
    expect(JSON.stringify(row)).not.toContain(s.token.slice(4));
    const audit = await sql("select * from audit_logs where tenant_id = $1 and action = 'connect_session.create'", [acct.tenantId]);
    expect(audit).toHaveLength(1);
    expect(audit[0].entity_id).toBe(s.id);
    expect(JSON.stringify(audit)).not.toContain(s.token.slice(4));
    expect(h.t.logs.text()).not.toContain(s.token.slice(4));
  });

  it('a platform key acts only for the tenant it names', async () => {
    const acct = await signup(app());
    const { key } = await h.t.services.apiKeys.createPlatformKey({ tenantId: null, actor: { type: 'system', id: null } }, { name: 'saas back end', scopes: ['connect'] });
    const unnamed = await createSession(key, {});
    expect([unnamed.statusCode, unnamed.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    const named = await createSession(key, { label: 'platform' }, { 'x-keyhold-tenant': acct.slug });
    expect(named.statusCode, named.body).toBe(201);
    const [row] = await sql('select tenant_id, created_by from connect_sessions where id = $1', [named.json().data.id]);
    expect(row.tenant_id).toBe(acct.tenantId);
    expect(row.created_by).toMatch(/^platform:/);
  });

  it('refuses inexact origins, a returnTo outside them, unknown providers and over-long lifetimes, writing nothing', async () => {
    const acct = await signup(app());
    const key = await connectKey(acct);
    const bad: Array<[object, string]> = [
      [{ allowedOrigins: ['https://app.example.com/'] }, 'VALIDATION_FAILED'],
      [{ allowedOrigins: ['https://app.example.com/path'] }, 'VALIDATION_FAILED'],
      [{ allowedOrigins: ['javascript:alert(1)'] }, 'VALIDATION_FAILED'],
      [{ allowedOrigins: ['https://app.example.com'], returnTo: 'https://evil.example.com/done' }, 'VALIDATION_FAILED'],
      [{ returnTo: 'javascript:alert(1)' }, 'VALIDATION_FAILED'],
      [{ returnTo: 'https://user:pw@app.example.com/' }, 'VALIDATION_FAILED'],
      [{ allowedProviders: ['stripe', 'nope'] }, 'UNKNOWN_PROVIDER'],
      [{ expiresInSeconds: 3600 }, 'VALIDATION_FAILED'],
    ];
    for (const [body, code] of bad) {
      const res = await createSession(key, body);
      expect([res.statusCode, res.json().code], JSON.stringify(body)).toEqual([400, code]);
    }
    expect(await sql('select id from connect_sessions where tenant_id = $1', [acct.tenantId])).toHaveLength(0);
    const good = await createSession(key, { allowedOrigins: ['https://app.example.com', 'http://localhost:5173'], returnTo: 'https://app.example.com/integrations?x=1' });
    expect(good.statusCode, good.body).toBe(201);
  });
});

describe('the Connect page API (the session token is its only credential)', () => {
  it('shows only the allowed providers, saves an API-key connection through the normal path, and is then spent', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe', 'xero'], label: 'end-user-7', allowedOrigins: ['https://app.example.com'] });
    const view = await app().inject({ method: 'GET', url: '/api/connect/session', headers: page(s.token) });
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json().data.providers.map((p: { id: string }) => p.id)).toEqual(['stripe', 'xero']);
    expect(view.json().data).toMatchObject({ label: 'end-user-7', reconnect: false, allowedOrigins: ['https://app.example.com'] });

    const body = stripeKey();
    const other = await app().inject({ method: 'POST', url: '/api/connect/session/credentials', headers: page(s.token), payload: { serviceName: 'openai', apiKey: 'sk-x' } });
    expect([other.statusCode, other.json().code]).toEqual([403, 'FORBIDDEN']);
    const wrong = await saveStripe(s.token, credentialsFor('stripe').body); // a well-formed key Stripe does not know
    expect([wrong.statusCode, wrong.json().code]).toEqual([422, 'CONNECTION_TEST_FAILED']);
    const tested = await app().inject({ method: 'POST', url: '/api/connect/session/test', headers: page(s.token), payload: { serviceName: 'stripe', ...body } });
    expect(tested.statusCode, tested.body).toBe(200);

    const saved = await saveStripe(s.token, body);
    expect(saved.statusCode, saved.body).toBe(201);
    const done = saved.json().data;
    expect(done).toMatchObject({ provider: 'stripe', label: 'end-user-7' });
    expect(saved.body).not.toContain(body.apiKey);
    const [conn] = await sql('select id, label, status, created_by from connections where tenant_id = $1', [acct.tenantId]);
    expect(conn).toMatchObject({ id: done.connectionId, label: 'end-user-7', status: 'active' });
    const events = await sql('select type from events where tenant_id = $1', [acct.tenantId]);
    expect(events.map((e) => e.type)).toContain('connection.created');
    const audit = await sql("select metadata from audit_logs where tenant_id = $1 and action = 'api_credentials.create'", [acct.tenantId]);
    expect(audit[0].metadata).toMatchObject({ connectSession: s.id });

    for (const res of [await saveStripe(s.token, body), await app().inject({ method: 'GET', url: '/api/connect/session', headers: page(s.token) })]) {
      expect([res.statusCode, res.json().code]).toEqual([410, 'CONNECT_SESSION_USED']);
    }
    const result = await app().inject({ method: 'GET', url: '/api/connect/session/result', headers: page(s.token) });
    expect(result.json().data).toMatchObject({ connectionId: done.connectionId, provider: 'stripe', label: 'end-user-7' });
  });

  it('a failed save leaves the session open for another try', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe'] });
    expect((await saveStripe(s.token, credentialsFor('stripe').body)).statusCode).toBe(422);
    expect((await saveStripe(s.token, stripeKey())).statusCode).toBe(201);
  });

  it('single use under a burst: of concurrent completions exactly one connects', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe'] });
    const body = stripeKey();
    const answers = await Promise.all(Array.from({ length: 6 }, () => saveStripe(s.token, body)));
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes, answers.map((r) => r.body).join('\n')).toEqual([201, 410, 410, 410, 410, 410]);
    expect(answers.filter((r) => r.statusCode === 410).every((r) => r.json().code === 'CONNECT_SESSION_USED')).toBe(true);
    expect(await sql('select id from connections where tenant_id = $1', [acct.tenantId])).toHaveLength(1);
    expect(await sql("select id from events where tenant_id = $1 and type = 'connection.created'", [acct.tenantId])).toHaveLength(1);
  });

  it('refuses an expired token and an unknown one with their own codes', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe'], expiresInSeconds: 60 });
    const body = stripeKey();
    h.t.clock.advance(61_000);
    try {
      const res = await saveStripe(s.token, body);
      expect([res.statusCode, res.json().code]).toEqual([410, 'CONNECT_SESSION_EXPIRED']);
      expect((await app().inject({ method: 'GET', url: '/api/connect/session', headers: page(s.token) })).json().code).toBe('CONNECT_SESSION_EXPIRED');
    } finally {
      h.t.clock.advance(-61_000);
    }
    for (const headers of [page(`khc_${'A'.repeat(43)}`), page('nonsense'), {}]) {
      const res = await app().inject({ method: 'GET', url: '/api/connect/session', headers });
      expect([res.statusCode, res.json().code]).toEqual([401, 'CONNECT_SESSION_INVALID']);
    }
    expect(await sql('select id from connections where tenant_id = $1', [acct.tenantId])).toHaveLength(0);
  });

  it("a suspended tenant's links stop working", async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe'] });
    await sql("update tenants set status = 'suspended' where id = $1", [acct.tenantId]);
    const res = await saveStripe(s.token, stripeKey());
    expect([res.statusCode, res.json().code]).toEqual([403, 'TENANT_SUSPENDED']);
    expect(await sql('select id from connections where tenant_id = $1', [acct.tenantId])).toHaveLength(0);
  });

  it("one tenant's sessions are invisible in another's context (RLS)", async () => {
    const a = await signup(app());
    const b = await signup(app());
    await openSession(a);
    const c = await appClient();
    try {
      await c.query('begin');
      await c.query("select set_config('app.tenant_id', $1, true)", [b.tenantId]);
      expect((await c.query('select id from connect_sessions where tenant_id = $1', [a.tenantId])).rows).toHaveLength(0);
      await c.query('rollback');
    } finally {
      await c.end();
    }
  });

  it('the page may be framed only by the session’s origins, computed without spending the token', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['stripe'], allowedOrigins: ['https://app.example.com', 'http://localhost:5173'] });
    const framed = await app().inject({ method: 'GET', url: `/connect/${s.token}` });
    expect(framed.headers['content-security-policy']).toContain('frame-ancestors https://app.example.com http://localhost:5173');
    expect(framed.headers['x-frame-options']).toBeUndefined();
    expect(framed.headers['cache-control']).toBe('no-store');
    expect(h.t.logs.text()).not.toContain(s.token.slice(4)); // the page's address is redacted in request logs
    expect(redactUrlSecrets(`GET ${s.url}`)).not.toContain(s.token.slice(4));
    const unknown = await app().inject({ method: 'GET', url: `/connect/khc_${'B'.repeat(43)}` });
    expect(unknown.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect((await saveStripe(s.token, stripeKey())).statusCode).toBe(201);
    const used = await app().inject({ method: 'GET', url: `/connect/${s.token}` });
    expect(used.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});

describe('OAuth from the Connect page, and reconnect', () => {
  async function oauthThroughSession(s: Session, provider = 'xero', consent: Record<string, string> = {}, accept?: string) {
    const start = await app().inject({ method: 'POST', url: `/api/connect/session/oauth/${provider}`, headers: page(s.token), payload: {} });
    expect(start.statusCode, start.body).toBe(200);
    const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const callback = await consentAt({ authUrl: start.json().data.authUrl, cookie }, consent);
    return app().inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie, ...(accept ? { accept } : {}) } });
  }

  it('a refused consent sends the end user back to the Connect page, not the console, and leaves the link usable', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['xero'] });
    const denied = await oauthThroughSession(s, 'xero', { sandbox_deny: '1' }, 'text/html');
    expect(denied.statusCode).toBe(400);
    expect(denied.body).toContain('href="/connect/done?error=OAUTH_ACCESS_DENIED"');
    expect(denied.body).not.toContain('/admin');
    expect((await oauthThroughSession(s)).statusCode).toBe(302);
  });

  it('the callback completes the session and returns the browser to the Connect page', async () => {
    const acct = await signup(app());
    const s = await openSession(acct, { allowedProviders: ['xero'], label: 'books' });
    const res = await oauthThroughSession(s);
    expect(res.statusCode, res.body).toBe(302);
    const location = new URL(res.headers.location as string, 'http://keyhold.test');
    expect(location.pathname).toBe('/connect/done');
    const [conn] = await sql('select id, provider, label, status from connections where tenant_id = $1', [acct.tenantId]);
    expect(conn).toMatchObject({ provider: 'xero', label: 'books', status: 'active' });
    expect(location.searchParams.get('connection')).toBe(conn.id);
    const result = await app().inject({ method: 'GET', url: '/api/connect/session/result', headers: page(s.token) });
    expect(result.json().data).toMatchObject({ connectionId: conn.id, provider: 'xero', label: 'books' });
    const again = await app().inject({ method: 'POST', url: '/api/connect/session/oauth/xero', headers: page(s.token), payload: {} });
    expect([again.statusCode, again.json().code]).toEqual([410, 'CONNECT_SESSION_USED']);
  });

  it('reconnect: only a connection in needs_reauth, only in its own tenant; it keeps the connection id', async () => {
    const acct = await signup(app());
    const other = await signup(app());
    const key = await connectKey(acct);
    const first = await openSession(acct, { allowedProviders: ['xero'] });
    expect((await oauthThroughSession(first)).statusCode).toBe(302);
    const [conn] = await sql('select id from connections where tenant_id = $1', [acct.tenantId]);
    const reconnect = (k: string, id: string) => app().inject({ method: 'POST', url: '/api/connect/sessions/reconnect', headers: bearer(k), payload: { connectionId: id } });

    const active = await reconnect(key, conn.id);
    expect([active.statusCode, active.json().code]).toEqual([409, 'RECONNECT_NOT_NEEDED']);
    const foreign = await reconnect(await connectKey(other), conn.id);
    expect([foreign.statusCode, foreign.json().code]).toEqual([404, 'NOT_FOUND']);

    await sql("update connections set status = 'needs_reauth' where id = $1", [conn.id]);
    const res = await reconnect(key, conn.id);
    expect(res.statusCode, res.body).toBe(201);
    const s: Session = res.json().data;
    const view = await app().inject({ method: 'GET', url: '/api/connect/session', headers: page(s.token) });
    expect(view.json().data).toMatchObject({ reconnect: true, label: 'default' });
    expect(view.json().data.providers.map((p: { id: string }) => p.id)).toEqual(['xero']);
    expect((await oauthThroughSession(s)).statusCode).toBe(302);
    const after = await sql('select id, status from connections where tenant_id = $1', [acct.tenantId]);
    expect(after).toEqual([{ id: conn.id, status: 'active' }]);
    const events = await sql('select type from events where tenant_id = $1 order by created_at', [acct.tenantId]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['connection.created', 'connection.updated']));
  });
});

describe('@keyhold/sdk', () => {
  it('keyhold.connect.createSession opens a session over HTTP', async () => {
    const acct = await signup(app());
    const baseUrl = await app().listen({ host: '127.0.0.1', port: 0 });
    const keyhold = new Keyhold({ baseUrl, apiKey: await connectKey(acct) });
    const s = await keyhold.connect.createSession({ allowedProviders: ['stripe'], endUser: { id: 'u-1' }, allowedOrigins: ['https://app.example.com'] });
    expect(s.url).toBe(`http://keyhold.test/connect/${s.token}`);
    await expect(keyhold.connect.createSession({ allowedOrigins: ['https://app.example.com/x'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});
