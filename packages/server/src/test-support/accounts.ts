import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { generate } from 'otplib';
import { uniqueSlug } from './index.js';

export const STRONG_PASSWORD = () => `Kh-${randomBytes(9).toString('base64url')}-pass`;

/**
 * A distinct client address per call, so per-IP limits of one test never touch another — also
 * across test files running in parallel against the same database (hence random, not a counter).
 */
export const freshIp = () => `10.${randomBytes(3).join('.')}`;

export type Account = { slug: string; email: string; password: string; accessToken: string; refreshToken: string; tenantId: string; userId: string };

export async function signup(app: FastifyInstance, opts: { slug?: string } = {}): Promise<Account> {
  const slug = opts.slug ?? uniqueSlug('org');
  const email = `owner-${randomBytes(3).toString('hex')}@example.com`;
  const password = STRONG_PASSWORD();
  const res = await app.inject({ method: 'POST', url: '/api/auth/signup', payload: { organizationName: 'Acme', slug, email, password } });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.body}`);
  const d = res.json().data;
  return { slug, email, password, accessToken: d.accessToken, refreshToken: d.refreshToken, tenantId: d.tenant.id, userId: d.user.id };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const totpAt = (secret: string, at: Date) => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });

const codesFor = new Map<string, () => Promise<string>>();

/**
 * Enrols TOTP for the account (once; later calls return the same generator); returns a function
 * giving the next valid step-up code (moves the clock 30 s).
 */
export async function enrolMfa(app: FastifyInstance, clock: { (): Date; advance(ms: number): void }, acct: Account) {
  const known = codesFor.get(acct.userId);
  if (known) return known;
  const next = await enrolMfaOnce(app, clock, acct);
  codesFor.set(acct.userId, next);
  return next;
}

async function enrolMfaOnce(app: FastifyInstance, clock: { (): Date; advance(ms: number): void }, acct: Account) {
  const { secret } = (await app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(acct.accessToken), payload: {} })).json().data;
  await app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(acct.accessToken), payload: { code: await totpAt(secret, clock()) } });
  return async () => {
    clock.advance(30_000);
    return totpAt(secret, clock());
  };
}

/**
 * Adds a user with `role` to the owner's organization and signs them in, past the temporary
 * password (changed, as the user must before anything else); returns their access token.
 */
export async function addMember(app: FastifyInstance, owner: Account, role: string): Promise<string> {
  const email = `${role}-${randomBytes(4).toString('hex')}@example.com`;
  const { temporaryPassword } = (await app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email, role, method: 'temporary_password' } })).json().data;
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email, password: temporaryPassword } });
  const accessToken = login.json().data.accessToken as string;
  const changed = await app.inject({ method: 'POST', url: '/api/auth/password', headers: bearer(accessToken), payload: { currentPassword: temporaryPassword, newPassword: `member-${randomBytes(8).toString('hex')}` } });
  if (changed.statusCode >= 300) throw new Error(`addMember: the password change failed: ${changed.body}`);
  return accessToken;
}

/**
 * Creates an API key as the owner and returns it. A key with 'credentials:read' reads plaintext
 * secrets, so its creation needs the owner's step-up: MFA is enrolled once per account for that.
 */
export async function createApiKey(
  app: FastifyInstance,
  clock: { (): Date; advance(ms: number): void },
  owner: Account,
  body: { name?: string; scopes: string[]; role?: string },
): Promise<{ key: string; id: string }> {
  const headers: Record<string, string> = bearer(owner.accessToken);
  if (body.scopes.includes('credentials:read')) {
    headers['x-mfa-code'] = await (await enrolMfa(app, clock, owner))();
  }
  const res = await app.inject({ method: 'POST', url: '/api/api-keys', headers, payload: { name: 'test key', ...body } });
  if (res.statusCode !== 201) throw new Error(`API key not created: ${res.body}`);
  return res.json().data;
}

/**
 * Reads a connection as the platform's back end would to see its refresh token: a platform key
 * with 'credentials:read:refresh', naming the tenant, asking for `include=refreshToken`.
 */
export async function refreshTokenReader(
  app: FastifyInstance,
  apiKeys: { createPlatformKey(ctx: { tenantId: null; actor: { type: 'system'; id: null } }, input: { name: string; scopes: Array<'credentials:read' | 'credentials:read:refresh'> }): Promise<{ key: string }> },
  owner: Account,
  provider: string,
) {
  const { key } = await apiKeys.createPlatformKey({ tenantId: null, actor: { type: 'system', id: null } }, { name: 'refresh reader', scopes: ['credentials:read', 'credentials:read:refresh'] });
  return () => app.inject({ method: 'GET', url: `/api/connections/${provider}/credentials?include=refreshToken`, headers: { ...bearer(key), 'x-keyhold-tenant': owner.tenantId } });
}
