import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, runCli } from '../test-support/cli.js';
import { adminClient, testApp, testDb, testServices, uniqueSlug } from '../test-support/index.js';

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-cli-ops-'));
  await chmod(dir, 0o755);
  env = { DATABASE_URL: inject('adminUrl'), KEYHOLD_APP_DATABASE_URL: inject('appUrl'), KEYHOLD_MASTER_KEYS: inject('masterKeys'), KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_DATA_DIR: dir };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('keyhold --version and <command> --help', () => {
  it("prints the version, and each command's own usage", async () => {
    const version = await runCli(['--version'], {});
    expect([version.code, version.stdout.trim()]).toEqual([0, expect.stringMatching(/^keyhold \d+\.\d+\.\d+/)]);
    const help = await runCli(['tenants', 'suspend', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: keyhold tenants suspend <tenant id or slug> \[--reason TEXT\]/);
    expect(help.stdout).not.toContain('Commands:');
    const doctor = await runCli(['doctor', '-h'], {});
    expect(doctor.stdout).toMatch(/^Usage: keyhold doctor \[--json\]/);
    const bad = await runCli(['tenants', 'list', '--frobnicate'], {});
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("Unknown option '--frobnicate'");
    expect(bad.output).toContain('Usage: keyhold tenants list');
  }, 120_000);
});

describe('keyhold admin create without --password', () => {
  it('reads the password piped on stdin, and never echoes it', async () => {
    const email = `piped-${Date.now()}@keyhold.example`;
    const password = 'a-piped-operator-passphrase';
    const created = await runCli(['admin', 'create', '--email', email, '--role', 'ADMIN'], env, { input: `${password}\n` });
    expect(created.code, created.output).toBe(0);
    expect(created.output).toContain(`Created platform admin ${email} (ADMIN)`);
    expect(created.output).not.toContain(password);
    const t = await testApp();
    try {
      const login = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password } });
      expect(login.statusCode, login.body).toBe(200);
    } finally {
      await t.close();
    }
    // Without a trailing newline too (printf '%s' "$PW" | …).
    const noNewline = await runCli(['admin', 'create', '--email', `x${email}`, '--role', 'ADMIN'], env, { input: password });
    expect(noNewline.code, noNewline.output).toBe(0);
    const tooShort = await runCli(['admin', 'create', '--email', `y${email}`, '--role', 'ADMIN'], env, { input: 'short\n' });
    expect(tooShort.code).toBe(1);
    expect(tooShort.output).toMatch(/password: must be at least 12 characters/);
  }, 120_000);
});

// `script` (util-linux) gives the command a pseudo-terminal, as an operator's shell would.
const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('keyhold admin create on a terminal', () => {
  it('asks for the password after the prompt and does not echo what is typed', async () => {
    const email = `typed-${Date.now()}@keyhold.example`;
    const password = 'a-typed-operator-passphrase';
    const command = [process.execPath, CLI, 'admin', 'create', '--email', email, '--role', 'SUPPORT'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'development', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (d) => {
      seen += d;
      // Typed only once the prompt shows, like a person (earlier keystrokes would be echoed by the terminal itself).
      if (seen.includes('Password') && !child.stdin.writableEnded) child.stdin.end(`${password}\r`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, seen).toBe(0);
    expect(seen).toContain(`Created platform admin ${email} (SUPPORT)`);
    expect(seen).not.toContain(password);
  }, 120_000);
});

describe('keyhold tenants', () => {
  it('creates, lists, suspends, reactivates and deletes a tenant, audited as the CLI operator', async () => {
    const slug = uniqueSlug('cli-t');
    const created = await runCli(['tenants', 'create', '--slug', slug, '--name', 'Acme CLI', '--active'], env);
    expect(created.code, created.output).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`Created tenant '${slug}' \\(active\\), id [0-9a-f-]{36}`));
    const listed = JSON.parse((await runCli(['tenants', 'list', '--search', slug, '--json'], env)).stdout);
    expect(listed.items).toEqual([expect.objectContaining({ slug, name: 'Acme CLI', status: 'active' })]);

    const suspended = await runCli(['tenants', 'suspend', slug, '--reason', 'unpaid invoice'], env);
    expect([suspended.code, suspended.stdout.trim()]).toEqual([0, `Suspended tenant '${slug}' (active → suspended).`]);
    expect((await runCli(['tenants', 'list', '--search', slug], env)).stdout).toMatch(new RegExp(`${slug}\\s+suspended`));
    expect((await runCli(['tenants', 'reactivate', slug], env)).code).toBe(0);

    const unconfirmed = await runCli(['tenants', 'delete', slug], env);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.output).toContain('--yes');
    expect((await runCli(['tenants', 'delete', slug, '--yes'], env)).code).toBe(0);
    // A deleted tenant is gone for good: neither its slug nor its id finds it.
    expect((await runCli(['tenants', 'reactivate', slug], env)).output).toContain(`No tenant '${slug}'`);
    const id = /id ([0-9a-f-]{36})/.exec(created.stdout)![1]!;
    const byId = await runCli(['tenants', 'reactivate', id], env);
    expect([byId.code, byId.output.trim()]).toEqual([1, `keyhold tenants reactivate: No tenant '${id}'`]);
    const missing = await runCli(['tenants', 'suspend', 'no-such-tenant-here'], env);
    expect([missing.code, missing.output.trim()]).toEqual([1, "keyhold tenants suspend: No tenant 'no-such-tenant-here'"]);

    const admin = await adminClient();
    try {
      const { rows } = await admin.query(
        `select action, actor_type, user_agent, metadata from audit_logs where tenant_id = (select id from tenants where slug = $1) order by seq`, [slug]);
      expect(rows.map((r) => r.action)).toEqual(['tenant.create', 'tenant.suspend', 'tenant.reactivate', 'tenant.delete']);
      expect(rows.every((r) => r.actor_type === 'system' && /^keyhold-cli\/\S+ \(.+@.+\)$/.test(r.user_agent))).toBe(true);
      expect(rows[1].metadata).toMatchObject({ from: 'active', to: 'suspended', reason: 'unpaid invoice' });
    } finally {
      await admin.end();
    }
  }, 120_000);
});

describe('keyhold users reset-password', () => {
  it('without email delivery prints a temporary password that signs in, must be changed, and ends other sessions', async () => {
    const db = testDb();
    const services = testServices(db);
    const slug = uniqueSlug('cli-reset');
    const email = 'owner@reset.example';
    await services.auth.signup({ ip: '127.0.0.1' }, { organizationName: 'Reset Co', slug, email, password: 'the-original-passphrase' });
    await db.close();
    const t = await testApp();
    try {
      const login = (password: string) => t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: slug, email, password } });
      const before = (await login('the-original-passphrase')).json().data;

      const reset = await runCli(['users', 'reset-password', '--tenant', slug, '--email', email], env);
      expect(reset.code, reset.output).toBe(0);
      const temporary = reset.stdout.trim();
      expect(temporary).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect(reset.output).toContain('must choose a new password');

      expect((await login('the-original-passphrase')).statusCode).toBe(401);
      const after = await login(temporary);
      expect(after.statusCode, after.body).toBe(200);
      const me = await t.app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${after.json().data.accessToken}` } });
      expect(me.json().data.user.mustChangePassword).toBe(true);
      // The session from before the reset is over.
      const old = await t.app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${before.accessToken}` } });
      expect(old.statusCode).toBe(401);

      const nobody = await runCli(['users', 'reset-password', '--tenant', slug, '--email', 'nobody@reset.example'], env);
      expect(nobody.code).toBe(1);
      expect(nobody.output).toContain('No active user nobody@reset.example');
    } finally {
      await t.close();
    }
  }, 120_000);

  it('holds a temporary password to changing it: until then the session reaches only me, password change, logout and refresh', async () => {
    const db = testDb();
    const services = testServices(db);
    const slug = uniqueSlug('cli-must-change');
    const email = 'owner@must-change.example';
    await services.auth.signup({ ip: '127.0.0.1' }, { organizationName: 'Must Change Co', slug, email, password: 'the-original-passphrase' });
    await db.close();
    const t = await testApp();
    try {
      const reset = await runCli(['users', 'reset-password', '--tenant', slug, '--email', email, '--print'], env);
      expect(reset.code, reset.output).toBe(0);
      const temporary = reset.stdout.trim();
      const signedIn = (await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: slug, email, password: temporary } })).json().data;
      const as = (token: string) => ({ authorization: `Bearer ${token}` });

      const refused = await t.app.inject({ url: '/api/api-credentials', headers: as(signedIn.accessToken) });
      expect(refused.statusCode, refused.body).toBe(403);
      expect(refused.json().code).toBe('PASSWORD_CHANGE_REQUIRED');
      expect((await t.app.inject({ url: '/api/users', headers: as(signedIn.accessToken) })).json().code).toBe('PASSWORD_CHANGE_REQUIRED');
      expect((await t.app.inject({ url: '/api/auth/me', headers: as(signedIn.accessToken) })).json().data.user.mustChangePassword).toBe(true);
      // A refreshed token is held the same way.
      const refreshed = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: signedIn.refreshToken } });
      expect(refreshed.statusCode, refreshed.body).toBe(200);
      const token = refreshed.json().data.accessToken;
      expect((await t.app.inject({ url: '/api/api-credentials', headers: as(token) })).json().code).toBe('PASSWORD_CHANGE_REQUIRED');

      const changed = await t.app.inject({ method: 'POST', url: '/api/auth/password', headers: as(token), payload: { currentPassword: temporary, newPassword: 'a-brand-new-passphrase' } });
      expect(changed.statusCode, changed.body).toBeLessThan(300);
      const after = await t.app.inject({ url: '/api/api-credentials', headers: as(token) });
      expect(after.statusCode, after.body).toBe(200);
      expect((await t.app.inject({ url: '/api/auth/me', headers: as(token) })).json().data.user.mustChangePassword).toBe(false);
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: as(token) })).statusCode).toBeLessThan(300);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('refuses a user who has not accepted their invitation, and one the identity provider signs in, naming why', async () => {
    const db = testDb();
    const services = testServices(db);
    const slug = uniqueSlug('cli-reset-refuse');
    const signedUp = await services.auth.signup({ ip: '127.0.0.1' }, { organizationName: 'Refuse Co', slug, email: 'owner@refuse.example', password: 'the-original-passphrase' });
    const owner = await services.auth.authenticate(signedUp.accessToken, { ip: '127.0.0.1' });
    await services.users.invite(owner, { email: 'invitee@refuse.example', role: 'member' });
    await db.close();
    const admin = await adminClient();
    try {
      await admin.query(`insert into user_identities (tenant_id, user_id, issuer, subject) values ($1, $2, 'https://idp.refuse.example', 'subject-1')`, [signedUp.tenant.id, signedUp.user.id]);
      const invitee = await runCli(['users', 'reset-password', '--tenant', slug, '--email', 'invitee@refuse.example', '--print'], env);
      expect(invitee.code).toBe(1);
      expect(invitee.output).toContain('invitee@refuse.example has not accepted their invitation yet');
      expect(invitee.stdout.trim()).toBe('');
      const linked = await runCli(['users', 'reset-password', '--tenant', slug, '--email', 'owner@refuse.example', '--print'], env);
      expect(linked.code).toBe(1);
      expect(linked.output).toContain('owner@refuse.example signs in through the identity provider');
      expect(linked.stdout.trim()).toBe('');
      const { rows } = await admin.query(`select password_hash is null as pending, must_change_password from users where tenant_id = $1 order by email`, [signedUp.tenant.id]);
      expect(rows).toEqual([{ pending: true, must_change_password: false }, { pending: false, must_change_password: false }]);
    } finally {
      await admin.end();
    }
  }, 120_000);

  it('with email delivery configured emails a reset link instead, printing nothing secret', async () => {
    const sandbox = await createSandbox();
    try {
      sandbox.seed('resend', { apiKey: 're_cli_reset_sender' });
      const db = testDb();
      const services = testServices(db);
      const slug = uniqueSlug('cli-mail');
      const email = 'owner@mail-reset.example';
      await services.auth.signup({ ip: '127.0.0.1' }, { organizationName: 'Mail Co', slug, email, password: 'the-original-passphrase' });
      await db.close();
      const mailEnv = { ...env, KEYHOLD_RESEND_API_KEY: 're_cli_reset_sender', KEYHOLD_EMAIL_FROM: 'Keyhold <no-reply@keyhold.example>', KEYHOLD_RESEND_BASE_URL: sandbox.baseUrlFor('resend') };

      const reset = await runCli(['users', 'reset-password', '--tenant', slug, '--email', email], mailEnv);
      expect(reset.code, reset.output).toBe(0);
      expect(reset.stdout.trim()).toBe(`Sent a password reset link to ${email} (valid 30 minutes, single use).`);
      expect(reset.output).not.toMatch(/khp_/);
      const inbox = await (await fetch(`${sandbox.url}/_sandbox/resend/inbox?to=${email}`)).json() as { data: Array<{ subject: string }> };
      expect(inbox.data.map((m) => m.subject)).toEqual(['Reset your Keyhold password']);
    } finally {
      await sandbox.close();
    }
  }, 120_000);
});
