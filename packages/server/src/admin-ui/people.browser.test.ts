import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import * as jsqrModule from 'jsqr';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../platform/crypto/secret.js';
import { STRONG_PASSWORD, bearer, freshIp, totpAt } from '../test-support/accounts.js';
import { credentialsFor } from '../test-support/credentials.js';
import { type TestApp, freePort, testApp, uniqueSlug } from '../test-support/index.js';
import { oauthOptions } from '../test-support/oauth.js';
import { assertConsoleBuilt, browserTestsSkipped, cspViolations, expectAccessible as axeCheck, launchChromium, screenshot, STILL } from './browser.js';

/**
 * axe on the page at rest: the pointer parked off the navigation it just clicked (an active nav
 * link under the pointer is the Shell's hover shade, checked by the console's own test).
 */
const expectAccessible = async (page: Page, where: string) => {
  await page.mouse.move(1270, 850);
  await axeCheck(page, where);
};

const RESEND_KEY = `re_platform_${randomBytes(12).toString('hex')}`;

/** Pages answer slower when the machine is busy: a poll waits as long as a locator does. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

const skipped = browserTestsSkipped();
if (skipped) console.warn(skipped);


type QrDecoder = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
// jsqr is CommonJS: its function is the module's default export here.
const jsQR = (jsqrModule as unknown as { default: QrDecoder | { default: QrDecoder } }).default;
const decodeQr: QrDecoder = typeof jsQR === 'function' ? jsQR : jsQR.default;

/** What an authenticator app reads from the QR code on screen: decoded from its pixels. */
async function scanQr(page: Page): Promise<URL> {
  const png = PNG.sync.read(await page.getByTestId('mfa-qr').screenshot());
  const found = decodeQr(Uint8ClampedArray.from(png.data), png.width, png.height);
  expect(found, 'a QR code on screen').not.toBeNull();
  return new URL(found!.data);
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path()).toString('utf8') };
}

/** Picks an option of a Mantine Select by its label. */
async function choose(page: Page, label: string, option: string) {
  await page.getByLabel(label, { exact: true }).first().click(); // the input (its listbox shares the label)
  await page.getByRole('option', { name: option, exact: true }).click();
}

describe.skipIf(skipped !== null)('people and security in a real browser', () => {
  let t: TestApp;
  let sandbox: Sandbox;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    assertConsoleBuilt();
    sandbox = await createSandbox();
    sandbox.seed('resend', { apiKey: RESEND_KEY });
    sandbox.limits.configure('resend', { windows: [{ name: 'second', limit: 1000, windowMs: 1000 }] });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({
      ...oauthOptions(sandbox, base),
      publicUrl: base,
      email: { provider: 'resend', apiKey: new Secret(RESEND_KEY), from: 'Keyhold <no-reply@keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') },
    });
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sandbox?.close();
  });

  const apiLogin = async (slug: string, email: string, password: string, code?: () => Promise<string>) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: slug, email, password } });
    expect(res.statusCode, res.body).toBe(200);
    if (!res.json().data.mfaRequired) return res.json().data;
    const verified = await t.app.inject({ method: 'POST', url: '/api/auth/mfa/verify', remoteAddress: freshIp(), payload: { mfaToken: res.json().data.mfaToken, code: await code!() } });
    expect(verified.statusCode, verified.body).toBe(200);
    return verified.json().data;
  };

  it('sign up → first steps (skip for now kept) → MFA by scanning the QR code → Xero by consent and Stripe with Test → rotate and reveal behind the MFA modal → the audit log shows both and exports them → users, API keys and sessions; a viewer sees no Rotate and the API refuses it', async () => {
    const slug = uniqueSlug('ppl');
    const email = `owner-${randomBytes(3).toString('hex')}@example.com`;
    const password = STRONG_PASSWORD();
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);
    const main = page.getByRole('main');
    const nav = page.getByRole('navigation', { name: 'Main' });

    // Sign up: the new organization lands on its first steps.
    await page.goto(`${base}/admin/sign-up`);
    await page.getByLabel('Organization name').fill('Acme People');
    await page.getByLabel('Workspace address').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL('**/admin/get-started');
    const step = (id: string) => page.locator(`[data-step="${id}"]`);
    for (const id of ['connect', 'mfa', 'invite']) await poll(() => step(id).getAttribute('data-state')).toBe('todo');
    await expectAccessible(page, 'get started');
    await screenshot(page, 'get-started');

    // "Skip for now" on one step is the server's to remember: a reload (a new page, a token from the cookie) keeps it.
    await page.getByRole('button', { name: 'Skip for now: Invite a teammate' }).click();
    await poll(() => step('invite').getAttribute('data-state')).toBe('skipped');
    await page.reload();
    await poll(() => step('invite').getAttribute('data-state')).toBe('skipped');
    // Elsewhere a reminder shows until it is set aside, which also holds across a reload; the list stays reachable.
    await nav.getByRole('link', { name: 'Integrations' }).click();
    const reminder = page.getByRole('region', { name: 'Setup reminder' });
    await reminder.waitFor();
    await expectAccessible(page, 'setup reminder');
    await reminder.getByRole('button', { name: 'Skip for now' }).click();
    await reminder.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    await page.waitForTimeout(500);
    expect(await reminder.count()).toBe(0);
    await nav.getByRole('link', { name: 'Get started' }).click();
    await page.getByRole('button', { name: 'Remind me again' }).waitFor();

    // MFA: the authenticator's view of the QR code is the otpauth URI of the key shown beside it.
    await nav.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('button', { name: 'Set up two-step verification' }).click();
    const otpauth = await scanQr(page);
    expect(otpauth.protocol).toBe('otpauth:');
    expect(otpauth.host).toBe('totp');
    const secret = otpauth.searchParams.get('secret')!;
    expect(secret.replace(/\s/g, '')).toBe((await page.getByTestId('mfa-secret').textContent())!.replace(/\s/g, ''));
    await expectAccessible(page, 'MFA enrolment');
    await screenshot(page, 'security-mfa');
    const nextCode = async () => {
      t.clock.advance(30_000);
      return totpAt(secret, t.clock());
    };
    await page.getByLabel('Code from the app').fill('123');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Enter the 6-digit code').waitFor();
    await page.getByLabel('Code from the app').fill(await totpAt(secret, t.clock()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await poll(() => codes.count()).toBe(10);
    const shown = (await codes.allTextContents()).map((c) => c.trim());
    await expectAccessible(page, 'recovery codes');
    const file = await downloaded(page, () => page.getByRole('button', { name: 'Download' }).click());
    expect(file.name).toBe('keyhold-recovery-codes.txt');
    for (const c of shown) expect(file.text).toContain(c);
    await page.getByRole('button', { name: 'I saved them' }).click();
    await poll(() => page.locator('[data-mfa]').getAttribute('data-mfa')).toBe('on');
    // Shown once: a reload shows no codes.
    await page.reload();
    await poll(() => page.locator('[data-mfa]').getAttribute('data-mfa')).toBe('on');
    expect(await page.getByRole('list', { name: 'Recovery codes' }).count()).toBe(0);

    // Xero through the sandbox consent: the card shows Active.
    await nav.getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('button', { name: 'Connect Xero' }).click();
    await page.getByRole('dialog', { name: 'Connect Xero' }).getByRole('button', { name: 'Continue to Xero' }).click();
    await page.waitForURL('**/admin/integrations**');
    await page.locator('article[data-provider="xero"] [data-status="active"]').waitFor();

    // Stripe saved after a passing Test.
    const { seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    const connect = page.getByRole('dialog', { name: 'Connect Stripe' });
    await connect.getByLabel('Secret key').fill(seed.apiKey!);
    await connect.getByRole('button', { name: 'Test', exact: true }).click();
    await connect.getByText('Test passed').waitFor();
    await connect.getByRole('button', { name: 'Save' }).click();
    await page.locator('article[data-provider="stripe"] [data-status="active"]').waitFor();

    // Rotate with the MFA modal, then reveal.
    await page.getByRole('link', { name: 'Stripe default' }).click();
    await page.getByRole('heading', { name: 'Stripe · default' }).waitFor();
    const connectionId = page.url().split('/').pop()!;
    const rotated = credentialsFor('stripe').seed.apiKey!;
    sandbox.seed('stripe', { apiKey: rotated });
    await main.getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('New secret key').fill(rotated);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('dialog', { name: 'Confirm rotation' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Confirm rotation' }).waitFor({ state: 'hidden' });
    await main.getByRole('button', { name: 'Reveal' }).click();
    await page.getByRole('dialog', { name: 'Reveal credentials' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Credentials' }).getByText(rotated, { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await poll(() => page.getByRole('dialog').count()).toBe(0);

    // The audit log shows both; filtered to the credentials' family, and exported as the same CSV.
    await nav.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('tr[data-action="user.signup"]').waitFor();
    await expectAccessible(page, 'audit log');
    await page.getByLabel('Action').fill('api_credentials.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('tr[data-action="api_credentials.rotate"]').waitFor();
    await page.locator('tr[data-action="api_credentials.reveal"]').waitFor();
    await poll(() => page.locator('tr[data-action="user.signup"]').count()).toBe(0);
    const csv = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    expect(csv.name).toMatch(/^keyhold-audit-log-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(csv.text.split('\r\n')[0]).toBe('"created_at","seq","action","outcome","actor_type","actor_id","entity_type","entity_id","ip","user_agent","request_id","metadata"');
    expect(csv.text).toContain('"api_credentials.rotate"');
    expect(csv.text).toContain('"api_credentials.reveal"');
    expect(csv.text).not.toContain('"user.signup"');
    // The failures only: none among the credentials' entries.
    await choose(page, 'Outcome', 'Failure');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('0 entries').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('tr[data-action="user.signup"]').waitFor();
    await screenshot(page, 'audit');

    // Users & roles: a viewer by temporary password (shown once), a member by invitation who becomes an admin and is removed.
    await nav.getByRole('link', { name: 'Users & roles' }).click();
    const invite = async (who: string, role: string, method: string) => {
      await page.getByRole('button', { name: 'Invite a user' }).click();
      const dialog = page.getByRole('dialog', { name: 'Invite a user' });
      await dialog.getByLabel('Email').fill(who);
      await choose(page, 'Role', role);
      await dialog.getByLabel(method).check();
      await dialog.getByRole('button', { name: 'Invite' }).click();
      const done = page.getByRole('dialog', { name: `${who} is invited` });
      const secretShown = (await done.getByTestId('shown-once').textContent())!;
      await expectAccessible(page, 'invited');
      await done.getByRole('button', { name: 'Done' }).click();
      return secretShown;
    };
    const viewerEmail = `viewer-${randomBytes(3).toString('hex')}@example.com`;
    const viewerPassword = await invite(viewerEmail, 'Viewer', 'A temporary password that you pass on');
    const memberEmail = `member-${randomBytes(3).toString('hex')}@example.com`;
    expect(await invite(memberEmail, 'Member', 'An invitation: they choose their password')).toMatch(new RegExp(`^${base}/admin/accept-invite#token=khi_`));
    await page.locator(`tr[data-user="${memberEmail}"]`).waitFor();
    await choose(page, `Role of ${memberEmail}`, 'Admin');
    await page.getByText(`${memberEmail} is now Admin.`).waitFor();
    const owner = await apiLogin(slug, email, password, nextCode);
    const roles = async () => Object.fromEntries(((await t.app.inject({ method: 'GET', url: '/api/users', headers: bearer(owner.accessToken) })).json().data as Array<{ email: string; role: string }>).map((u) => [u.email, u.role]));
    expect(await roles()).toEqual({ [email]: 'owner', [viewerEmail]: 'viewer', [memberEmail]: 'admin' });
    await expectAccessible(page, 'users');
    await screenshot(page, 'users');
    await page.getByRole('button', { name: `Remove ${memberEmail}` }).click();
    await page.getByRole('dialog', { name: `Remove ${memberEmail}` }).getByRole('button', { name: 'Remove' }).click();
    await page.locator(`tr[data-user="${memberEmail}"]`).waitFor({ state: 'detached' });
    expect(Object.keys(await roles()).sort()).toEqual([email, viewerEmail].sort());
    // Nobody can change their own role here (the last owner stays an owner).
    expect(await page.getByLabel(`Role of ${email}`).count()).toBe(0);

    // API keys: the key shows once, works, and stops working when revoked; a key that reads secrets needs the code.
    await nav.getByRole('link', { name: 'API keys' }).click();
    const createKey = async (name: string, scopes: string[]) => {
      await page.getByRole('button', { name: 'Create an API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create an API key' });
      await dialog.getByLabel('Name').fill(name);
      await choose(page, 'Role', 'Admin');
      for (const s of scopes) await dialog.getByLabel(s, { exact: true }).check();
      await dialog.getByRole('button', { name: 'Create' }).click();
    };
    await createKey('reporting', ['audit:read']);
    const keyDialog = page.getByRole('dialog', { name: 'API key reporting' });
    const key = (await keyDialog.getByTestId('shown-once').textContent())!;
    await expectAccessible(page, 'API key shown once');
    await keyDialog.getByRole('button', { name: 'Done' }).click();
    expect((await t.app.inject({ method: 'GET', url: '/api/audit-logs', headers: bearer(key) })).statusCode).toBe(200);
    expect(await page.getByText(key).count()).toBe(0); // shown once, not in the list
    await createKey('secrets-reader', ['credentials:read']);
    const keyStep = page.getByRole('dialog', { name: 'Confirm a key that reads secrets' });
    await keyStep.getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'API key secrets-reader' }).getByRole('button', { name: 'Done' }).click();
    await page.locator('tr[data-key="secrets-reader"]').waitFor();
    await expectAccessible(page, 'API keys');
    await screenshot(page, 'api-keys');
    await page.getByRole('button', { name: 'Revoke reporting' }).click();
    await page.getByRole('dialog', { name: 'Revoke reporting' }).getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr[data-key="reporting"]').waitFor({ state: 'detached' });
    expect((await t.app.inject({ method: 'GET', url: '/api/audit-logs', headers: bearer(key) })).statusCode).toBe(401);

    // Sessions: the sign-ins elsewhere are listed and ended from here; this browser stays signed in.
    await nav.getByRole('link', { name: 'Security' }).click();
    const others = page.locator('tr[data-session="other"]');
    await poll(() => others.count()).toBeGreaterThan(0);
    await expectAccessible(page, 'security with sessions');
    while ((await others.count()) > 0) {
      const before = await others.count();
      await others.first().getByRole('button', { name: /^End session from/ }).click();
      await poll(() => others.count()).toBe(before - 1);
    }
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: owner.refreshToken } })).statusCode).toBe(401);
    await page.locator('tr[data-session="current"]').waitFor();

    // Every first step is now done.
    await nav.getByRole('link', { name: 'Get started' }).click();
    for (const id of ['connect', 'mfa', 'invite']) await poll(() => step(id).getAttribute('data-state')).toBe('done');
    expect(refused).toEqual([]);

    // A viewer: no admin pages in the navigation, no Rotate, and the API refuses the rotation anyway.
    const viewerContext = await browser.newContext(STILL);
    const viewerPage = await viewerContext.newPage();
    await viewerPage.goto(`${base}/admin/sign-in`);
    await viewerPage.getByLabel(/^Organization/).fill(slug);
    await viewerPage.getByLabel('Email').fill(viewerEmail);
    await viewerPage.getByLabel(/^Password/).fill(viewerPassword);
    await viewerPage.getByRole('button', { name: 'Sign in' }).click();
    // A temporary password: the viewer chooses one before anything else.
    const viewerOwn = 'the-viewer-chose-this-one';
    await viewerPage.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await viewerPage.getByLabel(/^Current password/).fill(viewerPassword);
    await viewerPage.getByLabel(/^New password/).fill(viewerOwn);
    await viewerPage.getByLabel(/^Repeat the new password/).fill(viewerOwn);
    await viewerPage.getByRole('button', { name: 'Change password' }).click();
    await viewerPage.getByText('Read-only').waitFor();
    const viewerNav = viewerPage.getByRole('navigation', { name: 'Main' });
    for (const hidden of ['Users & roles', 'API keys', 'Audit log']) expect(await viewerNav.getByRole('link', { name: hidden }).count(), hidden).toBe(0);
    await viewerPage.goto(`${base}/admin/connections/${connectionId}`);
    await viewerPage.getByText('This connection could not be shown').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    await viewerPage.goto(`${base}/admin/get-started`);
    await viewerPage.locator('[data-step="mfa"]').waitFor();
    expect(await Promise.all((await viewerPage.locator('[data-step]').all()).map((l) => l.getAttribute('data-step')))).toEqual(['mfa']);
    await expectAccessible(viewerPage, 'get started as a viewer');
    const viewer = await apiLogin(slug, viewerEmail, viewerOwn);
    const refusedRotation = await t.app.inject({ method: 'PUT', url: `/api/api-credentials/${connectionId}`, headers: { ...bearer(viewer.accessToken), 'x-mfa-code': await nextCode() }, payload: { apiKey: rotated } });
    expect(refusedRotation.statusCode).toBe(403);
    expect(refusedRotation.json().code).not.toBe('PASSWORD_CHANGE_REQUIRED');
    expect((await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv', headers: bearer(viewer.accessToken) })).statusCode).toBe(403);
    await viewerContext.close();
    await context.close();
  }, 240_000);

  it("forgot password: the emailed link lands on the reset page, which sets the password; an invitation's link sets the invitee's", async () => {
    const slug = uniqueSlug('ppl');
    const email = `owner-${randomBytes(3).toString('hex')}@example.com`;
    const signup = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { organizationName: 'Reset Ltd', slug, email, password: STRONG_PASSWORD() } });
    expect(signup.statusCode).toBe(201);
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);
    await page.goto(`${base}/admin/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL('**/admin/forgot-password');
    await expectAccessible(page, 'forgot password');
    await page.getByLabel(/^Organization/).fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await page.getByText('Check your email').waitFor();
    await t.services.passwordReset.idle();
    await t.services.notifications.idle();
    const mail = sandbox.captures.inbox(email).find((m) => m.subject.includes('Reset your Keyhold password'));
    const link = /(http:\/\/\S+\/admin\/reset-password#token=khp_[A-Za-z0-9_-]+)/.exec(mail!.text)?.[1];
    expect(link?.startsWith(`${base}/admin/reset-password#token=`)).toBe(true);

    await page.goto(link!);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(page.url()).not.toContain('token'); // taken from the address bar once read
    await expectAccessible(page, 'reset password');
    const password = STRONG_PASSWORD();
    await page.getByLabel(/^New password/).fill(password);
    await page.getByLabel('Repeat the new password').fill(`${password}x`);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('The two passwords differ').waitFor();
    await page.getByLabel('Repeat the new password').fill(password);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('Your password is changed.').waitFor();
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByLabel(/^Organization/).fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/admin/integrations');

    // The same link again is refused with the server's reason.
    const again = await browser.newContext(STILL);
    const second = await again.newPage();
    await second.goto(link!);
    await second.getByLabel(/^New password/).fill(password);
    await second.getByLabel('Repeat the new password').fill(password);
    await second.getByRole('button', { name: 'Save password' }).click();
    await second.getByText(/not valid, was already used, or has expired/).waitFor();

    // An invitation by token: its email's link lands on the accept page.
    const invitee = `invitee-${randomBytes(3).toString('hex')}@example.com`;
    const owner = await apiLogin(slug, email, password);
    expect((await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email: invitee, role: 'member', method: 'invite_token' } })).statusCode).toBe(201);
    await t.services.notifications.idle();
    const invitation = sandbox.captures.inbox(invitee).map((m) => /(http:\/\/\S+\/admin\/accept-invite#token=khi_[A-Za-z0-9_-]+)/.exec(m.text)?.[1]).find(Boolean);
    expect(invitation).toBeDefined();
    await second.goto(invitation!);
    await second.getByRole('heading', { name: 'Accept your invitation' }).waitFor();
    await expectAccessible(second, 'accept invitation');
    const chosen = STRONG_PASSWORD();
    await second.getByLabel(/^New password/).fill(chosen);
    await second.getByLabel('Repeat the new password').fill(chosen);
    await second.getByRole('button', { name: 'Save password' }).click();
    await second.getByText('Your account is ready.').waitFor();
    await apiLogin(slug, invitee, chosen);
    expect(refused).toEqual([]);
    await again.close();
    await context.close();
  }, 120_000);
});
