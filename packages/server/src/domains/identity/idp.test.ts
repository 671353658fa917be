import { createPublicKey, randomBytes } from 'node:crypto';
import { type CryptoKey, type JWTPayload, SignJWT, base64url, decodeJwt, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { type Account, STRONG_PASSWORD, bearer, enrolMfa, freshIp, signup } from '../../test-support/accounts.js';
import { type TestApp, adminClient, movableClock, testApp, uniqueSlug } from '../../test-support/index.js';
import { createIdpTokenVerifier } from './idp-tokens.js';
import { IDP_AUDIENCE, type TestIdp, startTestIdp } from '../../test-support/idp.js';

/**
 * Users of the SaaS signed in by its own identity provider: a real OpenID provider
 * (oidc-provider) issues JWT access tokens, Keyhold verifies them against its JWKS and maps their
 * claims to a tenant, a role and a user.
 */
const USERS = ['ada', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jo', 'kai', 'lu', 'max', 'ned'] as const;

let idp: TestIdp;
let t: TestApp;
let orgA: { id: string; slug: string; orgId: string };
let orgB: { id: string; slug: string; orgId: string };

const newOrg = async () => {
  const orgId = `org_${randomBytes(6).toString('hex')}`;
  const tenant = await t.services.tenants.create({ actor: systemActor }, { slug: uniqueSlug('idp'), name: 'IdP org', idpOrgId: orgId, status: 'active' });
  return { id: tenant.id, slug: tenant.slug, orgId };
};
const template = (user: string, org: string, role = 'org:admin', more: Record<string, unknown> = {}) =>
  idp.claims.set(user, { org_id: org, org_role: role, email: `${user}-${randomBytes(3).toString('hex')}@saas.example`, ...more });
/** The test app's clock stands still unless moved; IdP tokens are issued at the real time. */
const get = (url: string, token: string) => {
  t.clock.set(Date.now());
  return t.app.inject({ method: 'GET', url, headers: bearer(token) });
};

beforeAll(async () => {
  idp = await startTestIdp(USERS);
  t = await testApp({ idp: idp.config() });
  orgA = await newOrg();
  orgB = await newOrg();
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

describe('signing in with the identity provider', () => {
  it('creates the user on first sight, linked by issuer and subject, and lets them act with the mapped role', async () => {
    template('ada', orgA.orgId, 'org:admin');
    const token = await idp.token('ada');
    expect(decodeJwt(token)).toMatchObject({ iss: idp.issuer, aud: IDP_AUDIENCE, sub: 'ada' });

    const me = await get('/api/auth/me', token);
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().data).toMatchObject({ tenant: { id: orgA.id }, role: 'admin', user: { role: 'admin' } });
    // RBAC as for a local admin: users list yes, owner-only reveal no.
    expect((await get('/api/users', token)).statusCode).toBe(200);
    expect((await get(`/api/api-credentials/${crypto.randomUUID()}/reveal`, token)).json().code).toBe('FORBIDDEN');

    const admin = await adminClient();
    try {
      const links = await admin.query('select user_id from user_identities where tenant_id = $1 and issuer = $2 and subject = $3', [orgA.id, idp.issuer, 'ada']);
      expect(links.rows).toHaveLength(1);
      expect(links.rows[0].user_id).toBe(me.json().data.user.id);
      const audit = await admin.query("select actor_type, actor_id, metadata from audit_logs where tenant_id = $1 and action = 'user.idp_create'", [orgA.id]);
      expect(audit.rows).toEqual([expect.objectContaining({ actor_type: 'user', actor_id: me.json().data.user.id, metadata: expect.objectContaining({ issuer: idp.issuer, subject: 'ada', role: 'admin' }) })]);
    } finally {
      await admin.end();
    }
  });
});

/** Rows as the database holds them (owner-level client: sees every tenant). */
async function rows<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T[]> {
  const admin = await adminClient();
  try {
    return (await admin.query(text, values)).rows as T[];
  } finally {
    await admin.end();
  }
}
const usersOf = (tenantId: string) => rows<{ id: string; email: string; role: string }>('select id, email, role from users where tenant_id = $1 order by created_at', [tenantId]);

/** A token signed with the IdP's current key whose claims and header a test bends one way. */
async function forged(claims: JWTPayload, opts: { alg?: string; key?: CryptoKey | Uint8Array; kid?: string | null; exp?: number | null } = {}) {
  const key = idp.currentKey();
  const now = Math.floor(Date.now() / 1000);
  const kid = opts.kid === null ? {} : { kid: opts.kid ?? key.kid };
  let jwt = new SignJWT({ iss: idp.issuer, aud: IDP_AUDIENCE, ...claims }).setProtectedHeader({ alg: opts.alg ?? 'RS256', ...kid }).setIssuedAt(now);
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? now + 120);
  return jwt.sign(opts.key ?? key.privateKey);
}

describe('roles come from the identity provider', () => {
  it('applies a role changed in the IdP with the next token, and records it on the user', async () => {
    template('bob', orgA.orgId, 'org:admin');
    expect((await get('/api/users', await idp.token('bob'))).statusCode).toBe(200);
    const claims = idp.claims.get('bob')!;
    idp.claims.set('bob', { ...claims, org_role: 'org:member' });
    const demoted = await idp.token('bob');
    const res = await get('/api/users', demoted);
    expect(res.json().code).toBe('FORBIDDEN');
    expect((await get('/api/auth/me', demoted)).json().data.role).toBe('member');
    const bob = (await usersOf(orgA.id)).find((u) => u.email === claims.email);
    expect(bob?.role).toBe('member');
    const syncs = await rows("select metadata from audit_logs where tenant_id = $1 and action = 'user.idp_role_sync' and actor_id = $2", [orgA.id, bob!.id]);
    expect(syncs).toEqual([{ metadata: expect.objectContaining({ from: 'admin', to: 'member', subject: 'bob' }) }]);
  });
});

describe('tokens Keyhold refuses', () => {
  const good = () => ({ sub: 'ada', org_id: orgA.orgId, org_role: 'org:admin', email: 'ada@saas.example' });

  it('accepts the forging helper’s unbent token (so each refusal below has one cause)', async () => {
    template('ada', orgA.orgId, 'org:admin');
    expect((await get('/api/auth/me', await forged(good()))).statusCode).toBe(200);
  });

  it.each([
    ['another issuer', async () => forged({ ...good(), iss: 'https://evil.example' }), 401, 'TOKEN_INVALID'],
    ['another audience', async () => forged({ ...good(), aud: 'https://other.example/api' }), 401, 'TOKEN_INVALID'],
    ['an expired token', async () => forged(good(), { exp: Math.floor(Date.now() / 1000) - 60 }), 401, 'TOKEN_EXPIRED'],
    ['a token without exp', async () => forged(good(), { exp: null }), 401, 'TOKEN_INVALID'],
    ['a token not valid yet (nbf)', async () => forged({ ...good(), nbf: Math.floor(Date.now() / 1000) + 600 }), 401, 'TOKEN_INVALID'],
    ['alg none', async () => `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ ...good(), iss: idp.issuer, aud: IDP_AUDIENCE, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }))}.`, 401, 'TOKEN_INVALID'],
    ['HS256 keyed with the IdP’s public key', async () => {
      const pem = await exportSPKI(createPublicKey({ key: idp.currentKey().publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }));
      return forged(good(), { alg: 'HS256', key: new TextEncoder().encode(pem) });
    }, 401, 'TOKEN_INVALID'],
    ['a key the IdP does not publish, under its key id', async () => forged(good(), { key: (await generateKeyPair('RS256')).privateKey }), 401, 'TOKEN_INVALID'],
  ])('refuses %s', async (_name, make, status, code) => {
    const res = await get('/api/auth/me', await make());
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
  });

  it.each([
    ['an organisation no tenant carries', { org_id: 'org_unknown', org_role: 'org:admin', email: 'x@saas.example' }, 'IDP_TENANT_UNKNOWN'],
    ['no organisation', { org_role: 'org:admin', email: 'x@saas.example' }, 'IDP_CLAIM_MISSING'],
    ['no role', { org_id: '<A>', email: 'x@saas.example' }, 'IDP_ROLE_UNMAPPED'],
    ['a role the map does not know', { org_id: '<A>', org_role: 'org:billing', email: 'x@saas.example' }, 'IDP_ROLE_UNMAPPED'],
    ['no email on first sight', { org_id: '<A>', org_role: 'org:admin' }, 'IDP_CLAIM_MISSING'],
  ])('refuses a valid token with %s, creating nobody', async (_name, claims, code) => {
    idp.claims.set('dee', Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, v === '<A>' ? orgA.orgId : v])));
    const before = (await usersOf(orgA.id)).length;
    const res = await get('/api/auth/me', await idp.token('dee'));
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe(code);
    expect(await usersOf(orgA.id)).toHaveLength(before);
    expect(await rows("select 1 from user_identities where subject = 'dee'", [])).toHaveLength(0);
  });
});

describe('tenants stay apart', () => {
  it("a token for tenant A cannot read tenant B's credential, whatever header it sends", async () => {
    template('cy', orgB.orgId, 'org:admin');
    t.clock.set(Date.now());
    const inB = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(await idp.token('cy')), payload: { serviceName: 'stripe', apiKey: `sk_test_${randomBytes(12).toString('hex')}` } });
    expect(inB.statusCode, inB.body).toBe(201);
    const id = inB.json().data.id;
    template('ada', orgA.orgId, 'org:admin');
    const a = await idp.token('ada');
    expect((await get(`/api/api-credentials/${id}`, a)).statusCode).toBe(404);
    t.clock.set(Date.now());
    const list = await t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: { ...bearer(a), 'x-keyhold-tenant': orgB.id } });
    expect(list.statusCode).toBe(200);
    expect(JSON.stringify(list.json().data)).not.toContain(id);
  });

  it('the same IdP user in two organisations is two Keyhold users', async () => {
    template('ivy', orgA.orgId, 'org:member');
    const inA = (await get('/api/auth/me', await idp.token('ivy'))).json().data;
    template('ivy', orgB.orgId, 'org:viewer');
    const inB = (await get('/api/auth/me', await idp.token('ivy'))).json().data;
    expect(inA.tenant.id).toBe(orgA.id);
    expect(inB).toMatchObject({ tenant: { id: orgB.id }, role: 'viewer' });
    expect(inB.user.id).not.toBe(inA.user.id);
  });
});

describe('Keyhold still decides who gets in', () => {
  it('refuses users of a suspended tenant, and lets them in again once it is reactivated', async () => {
    const org = await newOrg();
    template('jo', org.orgId, 'org:member');
    const token = await idp.token('jo');
    expect((await get('/api/auth/me', token)).statusCode).toBe(200);
    await t.services.tenants.setStatus({ actor: systemActor }, org.id, 'suspended');
    const res = await get('/api/auth/me', token);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('TENANT_SUSPENDED');
    await t.services.tenants.setStatus({ actor: systemActor }, org.id, 'active');
    expect((await get('/api/auth/me', token)).statusCode).toBe(200);
  });

  it('refuses a user disabled in Keyhold although the IdP still vouches for them', async () => {
    const org = await newOrg();
    template('kai', org.orgId, 'org:owner');
    template('lu', org.orgId, 'org:member');
    const owner = await idp.token('kai');
    const lu = await idp.token('lu');
    const luId = (await get('/api/auth/me', lu)).json().data.user.id;
    t.clock.set(Date.now());
    const off = await t.app.inject({ method: 'PATCH', url: `/api/users/${luId}`, headers: bearer(owner), payload: { isActive: false } });
    expect(off.statusCode, off.body).toBe(200);
    const res = await get('/api/auth/me', lu);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
  });

  it('never takes over a local account with the same email', async () => {
    const local = await signup(t.app);
    await t.services.tenants.update({ actor: systemActor }, local.tenantId, { idpOrgId: `org_${randomBytes(6).toString('hex')}` });
    const orgId = (await t.services.tenants.get(local.tenantId)).idpOrgId!;
    idp.claims.set('eve', { org_id: orgId, org_role: 'org:owner', email: local.email });
    const res = await get('/api/auth/me', await idp.token('eve'));
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().code).toBe('IDP_USER_CONFLICT');
    expect(await usersOf(local.tenantId)).toEqual([expect.objectContaining({ id: local.userId, email: local.email })]);
    expect(await rows('select 1 from user_identities where tenant_id = $1', [local.tenantId])).toHaveLength(0);
    // The local owner's own session is untouched.
    expect((await get('/api/auth/me', local.accessToken)).json().data.user.id).toBe(local.userId);
  });

  it('creates the user once under a burst of first requests', async () => {
    const org = await newOrg();
    template('fay', org.orgId, 'org:member');
    const token = await idp.token('fay');
    const answers = await Promise.all(Array.from({ length: 25 }, () => get('/api/auth/me', token)));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(25).fill(200));
    const users = await usersOf(org.id);
    expect(users).toHaveLength(1);
    expect(new Set(answers.map((r) => r.json().data.user.id))).toEqual(new Set([users[0]!.id]));
    expect(await rows('select 1 from user_identities where tenant_id = $1', [org.id])).toHaveLength(1);
    expect(await rows("select 1 from audit_logs where tenant_id = $1 and action = 'user.idp_create'", [org.id])).toHaveLength(1);
  });
});

describe('step-up MFA', () => {
  const reveal = (token: string) => get(`/api/api-credentials/${crypto.randomUUID()}/reveal`, token);
  const nowS = () => Math.floor(Date.now() / 1000);

  it.each([
    ['no amr', {}, 'MFA_ENROLLMENT_REQUIRED'],
    ['an amr without an accepted method', { amr: ['pwd'], auth_time: 0 }, 'MFA_ENROLLMENT_REQUIRED'],
    ['MFA 10 minutes ago (older than KEYHOLD_IDP_MFA_MAX_AGE_SECONDS)', { amr: ['pwd', 'mfa'], auth_time: -600 }, 'MFA_ENROLLMENT_REQUIRED'],
    ['MFA just now', { amr: ['pwd', 'mfa'], auth_time: 0 }, 'NOT_FOUND'],
  ])('with %s: %s', async (_name, more, code) => {
    const org = await newOrg();
    const extra = 'auth_time' in more ? { ...more, auth_time: nowS() + (more.auth_time as number) } : more;
    template('gus', org.orgId, 'org:owner', extra);
    // NOT_FOUND: the step-up passed and the (made-up) credential was looked for.
    expect((await reveal(await idp.token('gus'))).json().code).toBe(code);
  });
});

describe('step-up MFA with Keyhold TOTP', () => {
  it('an IdP user who enrolled TOTP in Keyhold steps up with X-MFA-Code like a local user', async () => {
    const org = await newOrg();
    template('gus', org.orgId, 'org:owner');
    const token = await idp.token('gus');
    const userId = (await get('/api/auth/me', token)).json().data.user.id;
    const nextCode = await enrolMfa(t.app, t.clock, { accessToken: token, userId } as Account);
    const code = await nextCode();
    const url = `/api/api-credentials/${crypto.randomUUID()}/reveal`;
    expect((await t.app.inject({ method: 'GET', url, headers: bearer(token) })).json().code).toBe('MFA_REQUIRED');
    expect((await t.app.inject({ method: 'GET', url, headers: { ...bearer(token), 'x-mfa-code': '000000' } })).json().code).toBe('MFA_REQUIRED');
    expect((await t.app.inject({ method: 'GET', url, headers: { ...bearer(token), 'x-mfa-code': code } })).json().code).toBe('NOT_FOUND');
  });
});

describe('signing keys rotate', () => {
  it('accepts the new key without a restart and refuses the removed one once the key set is refetched', async () => {
    template('hal', orgA.orgId, 'org:viewer');
    const old = await idp.token('hal');
    expect((await get('/api/auth/me', old)).statusCode).toBe(200);
    await idp.rotate();
    // Cached: the removed key still verifies until the key set is fetched again.
    expect((await get('/api/auth/me', old)).statusCode).toBe(200);
    const fetches = idp.jwksFetches();
    const fresh = await idp.token('hal');
    expect(decodeJwt(fresh).sub).toBe('hal');
    expect((await get('/api/auth/me', fresh)).statusCode).toBe(200);
    expect(idp.jwksFetches()).toBe(fetches + 1);
    const refused = await get('/api/auth/me', old);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('TOKEN_INVALID');
  });

  it('fetches the key set at most once per cooldown, however many unknown key ids arrive', async () => {
    const verifier = createIdpTokenVerifier(idp.config({ jwks: { cooldownSeconds: 30, cacheSeconds: 600, timeoutMs: 5000 } }), movableClock());
    template('max', orgA.orgId, 'org:viewer');
    await verifier.verify(await idp.token('max'));
    const fetches = idp.jwksFetches();
    const attacker = (await generateKeyPair('RS256')).privateKey;
    const made = await Promise.all(Array.from({ length: 20 }, () => forged({ sub: 'max' }, { key: attacker, kid: `k-${randomBytes(4).toString('hex')}` })));
    for (const token of made) await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    expect(idp.jwksFetches()).toBe(fetches);
  });

  it('answers 503 IDP_UNAVAILABLE when the key set cannot be fetched', async () => {
    const verifier = createIdpTokenVerifier(idp.config({ jwksUrl: 'http://127.0.0.1:9/jwks', jwks: { cooldownSeconds: 0, cacheSeconds: 600, timeoutMs: 500 } }), movableClock());
    await expect(verifier.verify(await idp.token('max'))).rejects.toMatchObject({ code: 'IDP_UNAVAILABLE', httpStatus: 503 });
  });
});

describe('claim mapping', () => {
  let bySlug: TestApp;
  beforeAll(async () => {
    // Clerk's session-token v2 shape: the organisation as `o: { id, slg, rol }`.
    bySlug = await testApp({ idp: idp.config({ orgMatch: 'slug', claims: { org: 'o.slg', role: 'o.rol', email: 'email' }, roleMap: { admin: 'admin', member: 'member' } }) });
  });
  afterAll(() => bySlug?.close());

  it('finds the tenant by slug from a nested claim when configured so', async () => {
    idp.claims.set('ned', { o: { id: 'org_whatever', slg: orgB.slug, rol: 'member' }, email: `ned-${randomBytes(3).toString('hex')}@saas.example` });
    bySlug.clock.set(Date.now());
    const res = await bySlug.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(await idp.token('ned')) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ tenant: { id: orgB.id }, role: 'member' });
  });
});

describe("a tenant's identity provider organisation id", () => {
  it('is set by a platform admin, shown on the tenant, and unique among tenants', async () => {
    const email = `idp-admin-${randomBytes(4).toString('hex')}@keyhold.example`;
    const password = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'SUPER_ADMIN', password });
    const admin = (await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() })).json().data.accessToken;
    const orgId = `org_${randomBytes(6).toString('hex')}`;
    const created = await t.app.inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(admin), payload: { slug: uniqueSlug('idp'), name: 'Made by an admin', idpOrgId: orgId } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().data.idpOrgId).toBe(orgId);
    const other = await newOrg();
    const taken = await t.app.inject({ method: 'PATCH', url: `/api/admin/tenants/${other.id}`, headers: bearer(admin), payload: { idpOrgId: orgId } });
    expect([taken.statusCode, taken.json().code]).toEqual([409, 'CONFLICT']);
    const cleared = await t.app.inject({ method: 'PATCH', url: `/api/admin/tenants/${other.id}`, headers: bearer(admin), payload: { idpOrgId: null } });
    expect(cleared.json().data.idpOrgId).toBeNull();
    // Its members no longer sign in through the old id.
    template('ada', other.orgId, 'org:admin');
    expect((await get('/api/auth/me', await idp.token('ada'))).json().code).toBe('IDP_TENANT_UNKNOWN');
  });
});
