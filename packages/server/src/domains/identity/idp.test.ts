import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { bearer, signup } from '../../test-support/accounts.js';
import { type TestApp, adminClient, testApp, uniqueSlug } from '../../test-support/index.js';
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
const get = (url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

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
