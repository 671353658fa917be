import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { type TestApp, adminClient, testApp } from '../../test-support/index.js';
import { STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';

const PLATFORM_KEY = `re_platform_${randomBytes(12).toString('hex')}`;
let sandbox: Sandbox;
let t: TestApp;

beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.seed('resend', { apiKey: PLATFORM_KEY });
  // Resend allows 5 requests a second; these tests send faster (waiting out 429s is tested in notifications).
  sandbox.limits.configure('resend', { windows: [{ name: 'second', limit: 1000, windowMs: 1000 }] });
  t = await testApp({ email: { provider: 'resend', apiKey: new Secret(PLATFORM_KEY), from: 'Keyhold <no-reply@keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') } });
});
afterAll(async () => {
  await t?.close();
  await sandbox?.close();
});

const forgot = (tenant: string, email: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/password/forgot', remoteAddress: freshIp(), payload: { tenant, email } });
const reset = (token: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/password/reset', remoteAddress: freshIp(), payload: { token, password } });
/** Waits for what answered requests left to do (issue the token, send the email). */
const settled = async () => {
  await t.services.passwordReset.idle();
  await t.services.notifications.idle();
};
const tokenIn = (text: string) => /#token=(khp_[A-Za-z0-9_-]+)/.exec(text)?.[1];
const resetMails = (to: string) => sandbox.captures.inbox(to).filter((m) => m.subject.includes('Reset your Keyhold password'));

describe('password reset by email', () => {
  it('sends a single-use link through the platform sender; using it sets the password and ends every session', async () => {
    const owner = await signup(t.app);
    const second = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email: owner.email, password: owner.password } });
    expect(second.statusCode).toBe(200);

    expect((await forgot(owner.slug, owner.email)).statusCode).toBe(202);
    await settled();
    const [mail, ...more] = resetMails(owner.email);
    expect(more).toHaveLength(0);
    expect(mail).toMatchObject({ from: 'Keyhold <no-reply@keyhold.test>', apiKey: PLATFORM_KEY, to: [owner.email] });
    const token = tokenIn(mail!.text);
    expect(token).toBeDefined();
    expect(tokenIn(mail!.html)).toBe(token);

    const password = STRONG_PASSWORD();
    const done = await reset(token!, password);
    expect(done.statusCode).toBe(200);
    // Both sessions ended: access tokens and refresh tokens of before are refused.
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(owner.accessToken) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(second.json().data.accessToken) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: owner.refreshToken } })).statusCode).toBe(401);
    // The new password works, the old one does not; the link works once.
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email: owner.email, password } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email: owner.email, password: owner.password } })).statusCode).toBe(401);
    const again = await reset(token!, STRONG_PASSWORD());
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('TOKEN_INVALID');

    // The log shows the email as sent, without its link.
    const list = await t.app.inject({ method: 'GET', url: '/api/notifications', headers: bearer((await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: owner.slug, email: owner.email, password } })).json().data.accessToken) });
    expect(list.json().data).toEqual([expect.objectContaining({ template: 'password_reset', status: 'SENT', channel: 'email', providerMessageId: mail!.id, recipient: `${owner.email[0]}…@example.com` })]);
  });

  it('a link expires after 30 minutes (injected clock), and a newer request replaces an older link', async () => {
    const owner = await signup(t.app);
    await forgot(owner.slug, owner.email);
    await settled();
    const first = tokenIn(resetMails(owner.email)[0]!.text)!;
    t.clock.advance(31 * 60_000);
    expect((await reset(first, STRONG_PASSWORD())).json().code).toBe('TOKEN_INVALID');

    await forgot(owner.slug, owner.email);
    await settled();
    const older = tokenIn(resetMails(owner.email)[1]!.text)!;
    await forgot(owner.slug, owner.email);
    await settled();
    const newer = tokenIn(resetMails(owner.email)[2]!.text)!;
    t.clock.advance(29 * 60_000);
    expect((await reset(older, STRONG_PASSWORD())).json().code).toBe('TOKEN_INVALID');
    expect((await reset(newer, STRONG_PASSWORD())).statusCode).toBe(200);
  });

  it('answers an unknown email or organisation exactly like a known one, and sends nothing for it', async () => {
    const owner = await signup(t.app);
    const known = await forgot(owner.slug, owner.email);
    const unknownEmail = await forgot(owner.slug, `nobody-${randomBytes(3).toString('hex')}@example.com`);
    const unknownTenant = await forgot(`no-such-${randomBytes(3).toString('hex')}`, owner.email);
    for (const r of [unknownEmail, unknownTenant]) {
      expect(r.statusCode).toBe(known.statusCode);
      expect(r.body).toBe(known.body);
    }
    await settled();
    expect(resetMails(owner.email)).toHaveLength(1);
  });

  it('answers before minting a token or any email I/O, for known and unknown accounts alike (no timing class)', async () => {
    const owner = await signup(t.app);
    const before = sandbox.requests().filter((r) => r.provider === 'resend').length;
    // A slow email provider (10 s), and the token table locked until both answers came: an answer
    // that waited for either would come after the bound (5 s, room for a loaded machine) or never.
    sandbox.fail('resend', { latencyMs: 10_000, path: '/emails', times: 1 });
    const admin = await adminClient();
    await admin.query('begin');
    await admin.query('lock table password_reset_tokens in access exclusive mode');
    try {
      for (const email of [owner.email, `nobody-${randomBytes(3).toString('hex')}@example.com`]) {
        const started = performance.now();
        const r = await forgot(owner.slug, email);
        expect(r.statusCode).toBe(202);
        expect(performance.now() - started).toBeLessThan(5_000);
      }
    } finally {
      await admin.query('commit');
      await admin.end();
    }
    await settled();
    expect(sandbox.requests().filter((r) => r.provider === 'resend').length).toBe(before + 1);
    expect(resetMails(owner.email)).toHaveLength(1);
    sandbox.heal('resend');
  });

  it('refuses a weak new password with the password rules, and a malformed or unknown token', async () => {
    const owner = await signup(t.app);
    await forgot(owner.slug, owner.email);
    await settled();
    const token = tokenIn(resetMails(owner.email)[0]!.text)!;
    expect((await reset(token, 'short')).json().code).toBe('VALIDATION_FAILED');
    expect((await reset(`khp_${randomBytes(32).toString('base64url')}`, STRONG_PASSWORD())).json().code).toBe('TOKEN_INVALID');
    expect((await reset('not-a-token', STRONG_PASSWORD())).json().code).toBe('TOKEN_INVALID');
    // The weak attempt did not spend the link.
    expect((await reset(token, STRONG_PASSWORD())).statusCode).toBe(200);
  });

  it('limits reset requests per account (429 after 5 in 15 minutes), the same for unknown accounts', async () => {
    const owner = await signup(t.app);
    const unknown = `nobody-${randomBytes(3).toString('hex')}@example.com`;
    for (const email of [owner.email, unknown]) {
      const codes = [];
      for (let i = 0; i < 6; i++) codes.push((await forgot(owner.slug, email)).statusCode);
      expect(codes).toEqual([202, 202, 202, 202, 202, 429]);
    }
    await settled();
  });

  it('never writes the token into a log line, the notification log, the audit log or an email other than its link', async () => {
    const owner = await signup(t.app);
    await forgot(owner.slug, owner.email);
    await settled();
    const mail = resetMails(owner.email)[0]!;
    const token = tokenIn(mail.text)!;
    await reset(token, STRONG_PASSWORD());
    expect(t.logs.text()).not.toContain(token);
    expect(t.logs.text()).not.toContain(token.slice(4, 20));
    const admin = await adminClient();
    try {
      const rows = await admin.query(`select row_to_json(n)::text as j from notification_log n where tenant_id = $1`, [owner.tenantId]);
      expect(rows.rows.length).toBeGreaterThan(0);
      for (const r of rows.rows) expect(r.j).not.toContain(token.slice(4, 20));
      // Sent: the encrypted link is dropped too.
      expect((await admin.query(`select secret_vars from notification_log where tenant_id = $1`, [owner.tenantId])).rows.every((r) => r.secret_vars === null)).toBe(true);
      const audit = await admin.query(`select row_to_json(a)::text as j from audit_logs a where tenant_id = $1`, [owner.tenantId]);
      for (const r of audit.rows) expect(r.j).not.toContain(token.slice(4, 20));
      const tokens = await admin.query(`select token_hash from password_reset_tokens where tenant_id = $1`, [owner.tenantId]);
      expect(tokens.rows.every((r) => !String(r.token_hash).includes(token.slice(4, 20)))).toBe(true);
    } finally {
      await admin.end();
    }
    // Only the reset email's link carries it.
    const others = sandbox.captures.inbox().filter((m) => m.id !== mail.id);
    for (const m of others) expect(`${m.text}${m.html}${m.subject}`).not.toContain(token);
  });
});

describe('password reset under concurrency', () => {
  it('parallel forgot requests leave exactly one valid link; parallel resets with one link: exactly one succeeds', async () => {
    const owner = await signup(t.app);
    const requests = await Promise.all(Array.from({ length: 5 }, () => forgot(owner.slug, owner.email)));
    expect(requests.map((r) => r.statusCode)).toEqual(Array(5).fill(202));
    await settled();
    const admin = await adminClient();
    try {
      const valid = await admin.query('select count(*)::int as n from password_reset_tokens where tenant_id = $1 and used_at is null', [owner.tenantId]);
      expect(valid.rows[0].n).toBe(1);
    } finally {
      await admin.end();
    }
    // The one valid link is the newest mail's; five people using it at once: one sets the password.
    const mails = resetMails(owner.email);
    expect(mails).toHaveLength(5);
    const tokens = mails.map((m) => tokenIn(m.text)!);
    const attempts = await Promise.all(tokens.flatMap((token) => Array.from({ length: 3 }, () => reset(token, STRONG_PASSWORD()))));
    expect(attempts.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(attempts.filter((r) => r.statusCode !== 200).map((r) => r.json().code)).toEqual(Array(14).fill('TOKEN_INVALID'));
  });
});

describe('invitation email', () => {
  it('an invitation by token is emailed with its accept link; the link is the one shown to the inviter, and works once', async () => {
    const owner = await signup(t.app);
    const email = `invitee-${randomBytes(3).toString('hex')}@example.com`;
    const res = await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email, role: 'member' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data).not.toHaveProperty('mailId');
    await settled();
    const [mail, ...more] = sandbox.captures.inbox(email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('You are invited to Acme on Keyhold');
    const token = /#token=(khi_[A-Za-z0-9_-]+)/.exec(mail!.text)?.[1];
    expect(token).toBe(res.json().data.inviteToken);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/invite/accept', payload: { token, password: STRONG_PASSWORD() } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/invite/accept', payload: { token, password: STRONG_PASSWORD() } })).statusCode).toBe(401);
    // A temporary password is never emailed (it is shown once to the inviter).
    const temp = `temp-${randomBytes(3).toString('hex')}@example.com`;
    await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email: temp, role: 'member', method: 'temporary_password' } });
    await settled();
    expect(sandbox.captures.inbox(temp)).toHaveLength(0);
  });
});
