import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_ACCESS, type Access, accessOf, allows } from './domains/identity/access.js';
import { assertRouteGuarded } from './platform/http/auth-plugin.js';
import { API_KEY_SCOPES, type ApiKeyScope, TENANT_KEY_SCOPES } from './domains/identity/principal.js';
import { PLATFORM_PERMISSIONS } from './domains/platform-admins/permissions.js';
import { systemActor } from './platform/context.js';
import { PLATFORM_ROLES, type PlatformRole, type UserRole } from './platform/db/schema.js';
import { type Account, STRONG_PASSWORD, addMember, bearer, createApiKey, freshIp, signup } from './test-support/accounts.js';
import { testApp } from './test-support/index.js';
import { type TestIdp, startTestIdp } from './test-support/idp.js';

/**
 * The authorization matrix, generated from the OpenAPI document: every operation × every kind of
 * principal (people of each role, tenant keys of each role × each scope, platform keys of each
 * scope, platform admins of each role, users signed in by the identity provider of each role). Each request carries input the operation refuses, so an
 * allowed call stops at validation (or at MFA) and nothing is changed; a refused one is a 403
 * FORBIDDEN (or 401 for the wrong kind of token) from the auth edge.
 */

let t: Awaited<ReturnType<typeof testApp>>;
let idp: TestIdp;
let owner: Account;
type Principal = { name: string; headers: Record<string, string>; tenant?: { role: UserRole; scopes?: ApiKeyScope[] }; platformRole?: PlatformRole };
const principals: Principal[] = [];
let operations: Array<{ method: string; path: string; hasBody: boolean }> = [];

beforeAll(async () => {
  idp = await startTestIdp(['owner', 'admin', 'member', 'viewer']);
  t = await testApp({ idp: idp.config() });
  owner = await signup(t.app);
  principals.push({ name: 'owner session', headers: bearer(owner.accessToken), tenant: { role: 'owner' } });
  // People of the SaaS's identity provider answer exactly as people signed in to Keyhold.
  await t.services.tenants.update({ actor: systemActor }, owner.tenantId, { idpOrgId: `org_${owner.slug}`, maxUsers: 20 });
  t.clock.set(Date.now()); // the app's clock stands still; IdP tokens are issued at the real time
  for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
    idp.claims.set(role, { org_id: `org_${owner.slug}`, org_role: `org:${role}`, email: `idp-${role}-${owner.slug}@saas.example` });
    const token = await idp.token(role);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode).toBe(200);
    principals.push({ name: `${role} via identity provider`, headers: bearer(token), tenant: { role } });
  }
  for (const role of ['admin', 'member', 'viewer'] as const) {
    principals.push({ name: `${role} session`, headers: bearer(await addMember(t.app, owner, role)), tenant: { role } });
  }
  for (const role of ['admin', 'member', 'viewer'] as const) {
    for (const scopes of [...TENANT_KEY_SCOPES.map((s) => [s]), [...TENANT_KEY_SCOPES]]) {
      const { key } = await createApiKey(t.app, t.clock, owner, { name: 'matrix', role, scopes });
      principals.push({ name: `${role} key [${scopes.join(' ')}]`, headers: bearer(key), tenant: { role, scopes } });
    }
  }
  // Platform keys never manage a tenant's people or keys.
  const platformScopes = API_KEY_SCOPES.filter((s) => !s.startsWith('users:') && !s.startsWith('api_keys:'));
  for (const scopes of [...platformScopes.map((s) => [s]), [...platformScopes]]) {
    const { key } = await t.services.apiKeys.createPlatformKey({ tenantId: null, actor: systemActor }, { name: 'matrix', scopes });
    principals.push({ name: `platform key [${scopes.join(' ')}]`, headers: { ...bearer(key), 'x-keyhold-tenant': owner.slug }, tenant: { role: 'admin', scopes } });
  }
  for (const role of PLATFORM_ROLES) {
    const email = `${role.toLowerCase()}-${randomBytes(4).toString('hex')}@keyhold.example`;
    const password = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role, password });
    const login = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() });
    principals.push({ name: `platform ${role}`, headers: bearer(login.json().data.accessToken), platformRole: role });
  }
  const spec = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
  operations = Object.entries<Record<string, { requestBody?: unknown }>>(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, hasBody: op.requestBody !== undefined })),
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

/** A request the operation must refuse as input: ids that are no uuid, names too long, bad pages. */
function invalidRequest(op: { method: string; path: string; hasBody: boolean }) {
  const url = op.path
    .replace('{*}', 'x')
    .replace('{provider}', 'no-such-provider')
    .replace(/\{[a-z]+\}/gi, 'not-a-uuid');
  return { method: op.method as 'GET', url: `${url}?page=0&limit=0&verify=maybe`, ...(op.hasBody ? { payload: { unexpected: [] } } : {}) };
}

function expected(access: Access, p: Principal): 'allowed' | 'forbidden' | 'unauthenticated' {
  if (access.kind === 'platform') {
    if (!p.platformRole) return 'unauthenticated';
    return access.permission === 'signed-in' || (PLATFORM_PERMISSIONS[access.permission] as readonly string[]).includes(p.platformRole) ? 'allowed' : 'forbidden';
  }
  if (access.kind === 'tenant') {
    if (!p.tenant) return 'unauthenticated';
    return allows(access, p.tenant) ? 'allowed' : 'forbidden';
  }
  return 'allowed';
}

function outcome(res: LightMyRequestResponse): 'allowed' | 'forbidden' | 'unauthenticated' {
  if (res.statusCode === 401) return 'unauthenticated';
  // HEAD answers carry no body; the proxy marks Keyhold's own refusals in a header.
  // An allowed CSV export answers text, not an envelope.
  const code = res.body && String(res.headers['content-type']).includes('json') ? res.json().code : res.headers['x-keyhold-error'];
  if (res.statusCode === 403 && code === 'FORBIDDEN') return 'forbidden';
  return 'allowed';
}

describe('authorization matrix (from the OpenAPI document)', () => {
  it('every operation has exactly one entry in the access table, and every entry is an operation', () => {
    const documented = operations.map((o) => `${o.method} ${o.path}`);
    const missing = documented.filter((k) => !(k in OPERATION_ACCESS));
    expect(missing, 'operations without an access rule').toEqual([]);
    expect(Object.keys(OPERATION_ACCESS).filter((k) => !documented.includes(k)), 'rules for no operation').toEqual([]);
  });

  it('the sensitive rows say what the security model promises (written out, not derived)', () => {
    const rule = (op: string) => { const a = OPERATION_ACCESS[op] as Record<string, unknown>; return { role: a.role, scope: a.scope, stepUp: a.stepUp ?? false, keysOnly: a.keysOnly ?? false }; };
    expect(rule('GET /api/api-credentials/{id}/reveal')).toEqual({ role: 'owner', scope: null, stepUp: true, keysOnly: false });
    expect(rule('DELETE /api/api-credentials/{id}')).toEqual({ role: 'owner', scope: null, stepUp: true, keysOnly: false });
    expect(rule('POST /api/integrations/{id}/disconnect')).toEqual({ role: 'owner', scope: null, stepUp: true, keysOnly: false });
    expect(rule('GET /api/connections/{provider}/credentials')).toEqual({ role: 'viewer', scope: 'credentials:read', stepUp: false, keysOnly: true });
    expect(rule('POST /api/users')).toEqual({ role: 'admin', scope: 'users:write', stepUp: false, keysOnly: false });
    expect(rule('POST /api/api-keys')).toEqual({ role: 'admin', scope: 'api_keys:write', stepUp: false, keysOnly: false });
    expect(rule('GET /api/api-credentials')).toEqual({ role: 'admin', scope: 'credentials:read', stepUp: false, keysOnly: false });
    expect(rule('PUT /api/api-credentials/{id}')).toEqual({ role: 'admin', scope: 'credentials:write', stepUp: false, keysOnly: false });
    expect(rule('GET /api/audit-logs')).toEqual({ role: 'admin', scope: 'audit:read', stepUp: false, keysOnly: false });
    expect(rule('POST /api/proxy/{provider}/{*}')).toEqual({ role: 'member', scope: 'proxy', stepUp: false, keysOnly: false });
    for (const op of ['POST /api/webhook-endpoints', 'GET /api/webhook-endpoints/{id}/secret', 'POST /api/webhook-endpoints/{id}/rotate-secret', 'DELETE /api/webhook-endpoints/{id}', 'PUT /api/webhook-endpoints/{id}/url']) {
      expect(rule(op), op).toEqual({ role: 'admin', scope: null, stepUp: true, keysOnly: false });
    }
    expect(rule('GET /api/webhook-endpoints/{id}/deliveries')).toEqual({ role: 'admin', scope: 'webhooks:read', stepUp: false, keysOnly: false });
    // A manual sync: people with a fresh MFA code; an API key's `syncs:run` scope is its grant.
    for (const op of ['POST /api/syncs/{connectionId}/{sync}/run', 'POST /api/syncs/{connectionId}/{sync}/reset']) {
      expect(rule(op), op).toEqual({ role: 'admin', scope: 'syncs:run', stepUp: true, keysOnly: false });
    }
    expect(rule('GET /api/records/{model}')).toEqual({ role: 'member', scope: 'records:read', stepUp: false, keysOnly: false });
  });

  it('a route without an access rule cannot be registered; one with a rule needs nothing else (the auth plugin guards it)', async () => {
    const fresh = await testApp();
    try {
      expect(() => fresh.app.get('/api/not-in-the-table', async () => ({}))).toThrow(/no entry in OPERATION_ACCESS/);
      expect(() => fresh.app.register(async (scope) => { scope.post('/api/also-not-in-the-table', async () => ({})); })).not.toThrow();
      await expect(fresh.app.ready()).rejects.toThrow(/POST \/api\/also-not-in-the-table has no entry in OPERATION_ACCESS/);
      expect(() => assertRouteGuarded({ method: 'GET', url: '/api/users' }, accessOf)).not.toThrow();
      expect(() => assertRouteGuarded({ method: ['GET', 'PUT'], url: '/api/users' }, accessOf)).toThrow(/PUT \/api\/users has no entry/);
    } finally {
      await fresh.close();
    }
  });

  it('every operation × every principal: the auth edge answers what the table says, never a 5xx', async () => {
    const mismatches: string[] = [];
    let requests = 0;
    for (const op of operations) {
      const access = OPERATION_ACCESS[`${op.method} ${op.path}`]!;
      if (access.kind === 'public') continue;
      // Signing out ends the caller's session; it gets fresh sessions of its own below.
      if (op.path === '/api/auth/logout' || op.path === '/api/admin/auth/logout') continue;
      const results = await Promise.all(principals.map(async (p) => {
        const res = await t.app.inject({ ...invalidRequest(op), headers: p.headers });
        return { p, res };
      }));
      for (const { p, res } of results) {
        requests++;
        expect(res.statusCode, `${op.method} ${op.path} as ${p.name}: ${res.body}`).toBeLessThan(500);
        const want = expected(access, p);
        const got = outcome(res);
        if (want !== got) mismatches.push(`${op.method} ${op.path} as ${p.name}: expected ${want}, got ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    }
    expect(mismatches.slice(0, 40)).toEqual([]);
    console.info(`authorization matrix: ${requests} requests (${requests / principals.length} operations × ${principals.length} principals), ${mismatches.length} mismatches`);
    // every non-public operation but the two sign-outs × every principal
    expect(requests).toBeGreaterThan(2000);
  }, 120_000);

  it('sign-out is for people only, each kind at its own door', async () => {
    for (const p of principals.filter((x) => x.tenant?.scopes)) {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: p.headers });
      expect([res.statusCode, res.json().code], p.name).toEqual([403, 'FORBIDDEN']);
    }
    const person = await addMember(t.app, owner, 'viewer');
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(person) })).statusCode).toBe(200);
    for (const p of principals.filter((x) => x.tenant)) {
      expect((await t.app.inject({ method: 'POST', url: '/api/admin/auth/logout', headers: p.headers })).statusCode, p.name).toBe(401);
    }
  });
});

/** The table as docs/security-model.md shows it, between its markers. */
function renderAccessTable(): string {
  const rows = Object.entries(OPERATION_ACCESS).map(([op, a]) => {
    if (a.kind === 'public') return `| \`${op}\` | anyone | — |`;
    if (a.kind === 'platform') return `| \`${op}\` | platform admin${a.permission === 'signed-in' ? '' : ` with \`${a.permission}\``} | no API key |`;
    const who = `${a.role}${a.role === 'owner' ? '' : '+'}${a.stepUp ? ', `X-MFA-Code`' : ''}${a.keysOnly ? ' (API keys only)' : ''}`;
    const scope = a.scope === null ? 'no API key' : a.scope === 'any' ? 'any key' : `\`${a.scope}\``;
    return `| \`${op}\` | ${who} | ${scope}${a.note ? `; ${a.note}` : ''} |`;
  });
  return ['| Operation | Who (role) | API-key scope |', '|---|---|---|', ...rows].join('\n');
}

describe('docs/security-model.md', () => {
  it('shows the access table as enforced (KEYHOLD_UPDATE_DOCS=1 rewrites it)', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const file = new URL('../../../docs/security-model.md', import.meta.url);
    const doc = await readFile(file, 'utf8');
    const [start, end] = ['<!-- access-table:start -->', '<!-- access-table:end -->'];
    const [from, to] = [doc.indexOf(start) + start.length, doc.indexOf(end)];
    const table = `\n${renderAccessTable()}\n`;
    if (process.env.KEYHOLD_UPDATE_DOCS === '1') return writeFile(file, doc.slice(0, from) + table + doc.slice(to));
    expect(doc.slice(from, to)).toBe(table);
  });
});
