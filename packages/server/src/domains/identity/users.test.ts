import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, testApp } from '../../test-support/index.js';
import { type Account, STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

/** Adds a user with a temporary password, signs them in and changes it; returns their access token and id. */
async function addUser(owner: Account, role: string, inviterToken = owner.accessToken) {
  const email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await call('POST', '/api/users', inviterToken, { email, role, method: 'temporary_password' });
  expect(res.statusCode, res.body).toBe(201);
  const { user, temporaryPassword } = res.json().data;
  const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email, password: temporaryPassword }, remoteAddress: freshIp() });
  expect(login.statusCode).toBe(200);
  const token = login.json().data.accessToken as string;
  expect((await call('POST', '/api/auth/password', token, { currentPassword: temporaryPassword, newPassword: STRONG_PASSWORD() })).statusCode).toBe(200);
  return { id: user.id as string, token, email };
}

describe('roles', () => {
  it('a viewer or member cannot list or invite users (403 naming the role)', async () => {
    const owner = await signup(t.app);
    for (const role of ['viewer', 'member']) {
      const u = await addUser(owner, role);
      const list = await call('GET', '/api/users', u.token);
      expect(list.statusCode).toBe(403);
      expect(list.json()).toMatchObject({ code: 'FORBIDDEN', error: 'This action requires the admin role or higher' });
      expect((await call('POST', '/api/users', u.token, { email: 'x@example.com' })).statusCode).toBe(403);
    }
  });

  it('an admin manages members but cannot create, change or remove an owner', async () => {
    const owner = await signup(t.app);
    const admin = await addUser(owner, 'admin');
    const member = await addUser(owner, 'member', admin.token);
    expect((await call('PATCH', `/api/users/${member.id}`, admin.token, { role: 'viewer' })).json().data.role).toBe('viewer');
    expect((await call('POST', '/api/users', admin.token, { email: 'o2@example.com', role: 'owner' })).statusCode).toBe(403);
    expect((await call('PATCH', `/api/users/${member.id}`, admin.token, { role: 'owner' })).statusCode).toBe(403);
    expect((await call('PATCH', `/api/users/${owner.userId}`, admin.token, { isActive: false })).statusCode).toBe(403);
    expect((await call('DELETE', `/api/users/${owner.userId}`, admin.token)).statusCode).toBe(403);
  });

  it('lists users with pagination', async () => {
    const owner = await signup(t.app);
    await addUser(owner, 'member');
    await addUser(owner, 'viewer');
    const res = await call('GET', '/api/users?page=1&limit=2', owner.accessToken);
    expect(res.json()).toMatchObject({ success: true, pagination: { page: 1, limit: 2, total: 3, totalPages: 2, hasMore: true } });
    expect(res.json().data).toHaveLength(2);
    expect(JSON.stringify(res.json())).not.toMatch(/password_hash|\$argon2/);
    expect((await call('GET', '/api/users?limit=501', owner.accessToken)).statusCode).toBe(400);
  });
});

describe('owners, quota and isolation', () => {
  it('keeps at least one active owner', async () => {
    const owner = await signup(t.app);
    const demote = await call('PATCH', `/api/users/${owner.userId}`, owner.accessToken, { role: 'admin' });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error).toContain('at least one active owner');
    expect((await call('PATCH', `/api/users/${owner.userId}`, owner.accessToken, { isActive: false })).statusCode).toBe(409);
    expect((await call('DELETE', `/api/users/${owner.userId}`, owner.accessToken)).statusCode).toBe(409);
    const second = await addUser(owner, 'owner');
    expect((await call('PATCH', `/api/users/${owner.userId}`, second.token, { role: 'admin' })).statusCode).toBe(200);
  });

  it('enforces max_users with 409 QUOTA_EXCEEDED, and unique emails with 409 CONFLICT', async () => {
    const owner = await signup(t.app);
    const admin = await adminClient();
    await admin.query('update tenants set max_users = 2 where id = $1', [owner.tenantId]);
    await admin.end();
    const first = await call('POST', '/api/users', owner.accessToken, { email: 'dup@example.com' });
    expect(first.statusCode).toBe(201);
    expect(first.json().data.inviteToken).toMatch(/^khi_/);
    const over = await call('POST', '/api/users', owner.accessToken, { email: 'third@example.com' });
    expect(over.statusCode).toBe(409);
    expect(over.json().code).toBe('QUOTA_EXCEEDED');
    const other = await signup(t.app);
    await call('POST', '/api/users', other.accessToken, { email: 'dup@example.com' });
    const dup = await call('POST', '/api/users', other.accessToken, { email: 'DUP@example.com' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('CONFLICT');
  });

  it("tenant B cannot see, change or delete tenant A's users (404)", async () => {
    const a = await signup(t.app);
    const b = await signup(t.app);
    const member = await addUser(a, 'member');
    expect((await call('PATCH', `/api/users/${member.id}`, b.accessToken, { role: 'viewer' })).statusCode).toBe(404);
    expect((await call('DELETE', `/api/users/${member.id}`, b.accessToken)).statusCode).toBe(404);
    const list = (await call('GET', '/api/users', b.accessToken)).json().data;
    expect(list.map((u: { id: string }) => u.id)).toEqual([b.userId]);
  });

  it('a deactivated user is signed out at once and cannot sign in', async () => {
    const owner = await signup(t.app);
    const member = await addUser(owner, 'member');
    expect((await call('PATCH', `/api/users/${member.id}`, owner.accessToken, { isActive: false })).statusCode).toBe(200);
    expect((await call('GET', '/api/auth/me', member.token)).statusCode).toBe(401);
  });
});

describe('passwords', () => {
  it('a user with a temporary password changes it; other sessions end, this one stays', async () => {
    const owner = await signup(t.app);
    const res = await call('POST', '/api/users', owner.accessToken, { email: 'temp@example.com', method: 'temporary_password' });
    const { temporaryPassword, user } = res.json().data;
    expect(user.mustChangePassword).toBe(true);
    const signIn = (password: string) =>
      t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email: 'temp@example.com', password }, remoteAddress: freshIp() });
    const a = (await signIn(temporaryPassword)).json().data.accessToken;
    const b = (await signIn(temporaryPassword)).json().data.accessToken;
    // Until it is changed, the temporary password opens nothing else.
    const held = await call('GET', '/api/providers', a);
    expect([held.statusCode, held.json().code]).toEqual([403, 'PASSWORD_CHANGE_REQUIRED']);
    const weak = await call('POST', '/api/auth/password', a, { currentPassword: temporaryPassword, newPassword: 'short' });
    expect(weak.json().error).toBe('newPassword: must be at least 12 characters');
    expect((await call('POST', '/api/auth/password', a, { currentPassword: 'not-the-password', newPassword: STRONG_PASSWORD() })).statusCode).toBe(401);
    const next = STRONG_PASSWORD();
    expect((await call('POST', '/api/auth/password', a, { currentPassword: temporaryPassword, newPassword: next })).statusCode).toBe(200);
    expect((await call('GET', '/api/auth/me', a)).json().data.user.mustChangePassword).toBe(false);
    expect((await call('GET', '/api/providers', a)).statusCode).toBe(200);
    expect((await call('GET', '/api/auth/me', b)).statusCode).toBe(401);
    expect((await signIn(temporaryPassword)).statusCode).toBe(401);
    expect((await signIn(next)).statusCode).toBe(200);
  });
});

describe('invitations', () => {
  it('an invited user sets a password with the token, once', async () => {
    const owner = await signup(t.app);
    const res = await call('POST', '/api/users', owner.accessToken, { email: 'new@example.com', role: 'viewer' });
    const { inviteToken } = res.json().data;
    const password = STRONG_PASSWORD();
    const accept = await t.app.inject({ method: 'POST', url: '/api/auth/invite/accept', payload: { token: inviteToken, password } });
    expect(accept.statusCode, accept.body).toBe(200);
    expect(accept.json().data).toMatchObject({ email: 'new@example.com', role: 'viewer', invitePending: false });
    const again = await t.app.inject({ method: 'POST', url: '/api/auth/invite/accept', payload: { token: inviteToken, password } });
    expect(again.statusCode).toBe(401);
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email: 'new@example.com', password }, remoteAddress: freshIp() });
    expect(login.statusCode).toBe(200);
  });

  it('an invitation cannot be used before it is accepted, nor after 7 days', async () => {
    const owner = await signup(t.app);
    const { inviteToken } = (await call('POST', '/api/users', owner.accessToken, { email: 'late@example.com' })).json().data;
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email: 'late@example.com', password: 'anything-at-all-1' }, remoteAddress: freshIp() });
    expect(login.statusCode).toBe(401);
    t.clock.advance(8 * 86_400_000);
    const accept = await t.app.inject({ method: 'POST', url: '/api/auth/invite/accept', payload: { token: inviteToken, password: STRONG_PASSWORD() } });
    expect(accept.statusCode).toBe(401);
  });
});
