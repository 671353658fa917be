import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, STRONG_PASSWORD, bearer, enrolMfa, freshIp } from '../test-support/accounts.js';
import { credentialsFor } from '../test-support/credentials.js';
import { type TestApp, freePort, testApp, uniqueSlug } from '../test-support/index.js';
import { oauthOptions } from '../test-support/oauth.js';
import { assertConsoleBuilt, browserTestsSkipped, cspViolations, expectAccessible, holdsFocus, isFocused, launchChromium, pageStorage, screenshot, STILL } from './browser.js';


const skipped = browserTestsSkipped();
if (skipped) console.warn(skipped);


describe.skipIf(skipped !== null)('the console in a real browser', () => {
  let t: TestApp;
  let sandbox: Sandbox;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    assertConsoleBuilt();
    sandbox = await createSandbox();
    // The OAuth redirect URIs name the server's own address, so it is chosen before the app is built.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({ ...oauthOptions(sandbox, base), publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sandbox?.close();
  });

  const apiLogin = async (slug: string, email: string, password: string) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: slug, email, password } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data;
  };

  it('sign up, sign in, connect Xero by OAuth (twice: the second picks one of two organisations) and Stripe with Test, rotate, reveal and disconnect behind the MFA modal; a viewer cannot rotate; a deep link survives sign-in with MFA', async () => {
    const slug = uniqueSlug('ui');
    const email = `owner-${randomBytes(3).toString('hex')}@example.com`;
    const password = STRONG_PASSWORD();
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);

    // Sign up: the organization and its owner.
    await page.goto(`${base}/admin/sign-up`);
    await expectAccessible(page, 'sign-up');
    await page.getByLabel('Organization name').fill('Acme Trading');
    await page.getByLabel('Workspace address').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL('**/admin/get-started'); // a new organization starts with its first steps
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click();
    await page.waitForURL('**/admin/integrations');

    // Sign out and in again with the password.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/admin/sign-in');
    await page.getByRole('link', { name: 'Create an organization' }).waitFor(); // sign-up is open here
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel(/^Organization/).fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/admin/integrations');

    // Integrations, grouped by the catalog's categories.
    const { categories } = (await t.app.inject({ method: 'GET', url: '/api/providers', headers: bearer((await apiLogin(slug, email, password)).accessToken) })).json().data;
    for (const category of ['Accounting', 'Payments', 'E-commerce']) expect(categories).toContain(category);
    for (const category of categories as string[]) await expect.poll(() => page.getByRole('heading', { name: category, exact: true }).count()).toBe(1);
    const stripeCard = page.locator('article[data-provider="stripe"]');
    await expect.poll(() => stripeCard.locator('[data-status="not_connected"]').count()).toBe(1);
    await expectAccessible(page, 'integrations');

    // Stripe by API key: Save waits for a passing Test of the values on screen.
    const { seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    const connect = page.getByRole('dialog', { name: 'Connect Stripe' });
    await connect.getByLabel('Secret key').fill('not-a-key');
    await connect.getByRole('button', { name: 'Test', exact: true }).click();
    await expect.poll(() => connect.getByText('Not the format of a secret key').count()).toBe(1);
    await connect.getByLabel('Secret key').fill(seed.apiKey!);
    expect(await connect.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await expectAccessible(page, 'connect form');
    await connect.getByRole('button', { name: 'Test', exact: true }).click();
    await connect.getByText('Test passed').waitFor();
    await connect.getByRole('button', { name: 'Save' }).click();
    await stripeCard.locator('[data-status="active"]').waitFor();

    // Xero by OAuth: the browser goes to the (sandbox) consent page and Keyhold's callback sends it back into the app.
    await page.getByRole('button', { name: 'Connect Xero' }).click();
    await page.getByRole('dialog', { name: 'Connect Xero' }).getByRole('button', { name: 'Continue to Xero' }).click();
    await page.waitForURL('**/admin/integrations**');
    await page.locator('article[data-provider="xero"] [data-status="active"]').waitFor();
    await page.getByText('Xero is connected.').waitFor();
    expect(page.url()).not.toContain('xero=configured'); // read once, not shown again on reload

    // A second Xero connection whose consent authorised two organisations: the person picks one.
    const consentPage = (url: URL) => url.searchParams.get('response_type') === 'code';
    await page.route(consentPage, (route) => route.continue({ url: `${route.request().url()}&sandbox_count=2` }));
    await page.getByRole('button', { name: 'Add account (Xero)' }).click();
    const xeroDialog = page.getByRole('dialog', { name: 'Connect Xero' });
    await xeroDialog.getByLabel('Label').fill('subsidiary');
    await xeroDialog.getByRole('button', { name: 'Continue to Xero' }).click();
    await page.waitForURL('**/admin/integrations?xero=choose**');
    const picker = page.getByRole('dialog', { name: 'Choose the Xero account' });
    await expect.poll(() => picker.getByRole('radio').count()).toBe(2);
    await expectAccessible(page, 'account picker');
    await picker.getByRole('radio').nth(1).check();
    await picker.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => page.locator('article[data-provider="xero"] [data-status="active"]').count()).toBe(2);
    await page.unroute(consentPage);
    await screenshot(page, 'integrations', { height: 1500 });

    // The owner enrols MFA (through the API for now) and opens the connection.
    const session = await apiLogin(slug, email, password);
    const owner: Account = { slug, email, password, accessToken: session.accessToken, refreshToken: session.refreshToken, tenantId: session.tenant.id, userId: session.user.id };
    const nextCode = await enrolMfa(t.app, t.clock, owner);
    await page.getByRole('link', { name: 'Stripe default' }).click();
    await page.getByRole('heading', { name: 'Stripe · default' }).waitFor();
    const connectionId = page.url().split('/').pop()!;
    await page.getByText('created', { exact: true }).waitFor(); // the event timeline
    await expectAccessible(page, 'connection page');

    // Keyboard only in the MFA modal: focus starts in the code field, Tab stays inside, Escape closes.
    await page.getByRole('main').getByRole('button', { name: 'Delete' }).click();
    const del = page.getByRole('dialog', { name: 'Delete Stripe (default)' });
    await expect.poll(() => isFocused(del.getByLabel('Authenticator code'))).toBe(true);
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      expect(await holdsFocus(del)).toBe(true);
    }
    await expectAccessible(page, 'MFA modal');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect((await t.app.inject({ method: 'GET', url: `/api/api-credentials/${connectionId}`, headers: bearer(owner.accessToken) })).statusCode).toBe(200);

    // Rotate: new key, then the code typed and confirmed with Enter.
    const rotated = credentialsFor('stripe').seed.apiKey!;
    sandbox.seed('stripe', { apiKey: rotated });
    await page.getByRole('main').getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('New secret key').fill(rotated);
    await page.getByRole('button', { name: 'Continue' }).click();
    const confirm = page.getByRole('dialog', { name: 'Confirm rotation' });
    await expect.poll(() => isFocused(confirm.getByLabel('Authenticator code'))).toBe(true);
    await page.keyboard.type('000000');
    await page.keyboard.press('Enter');
    await confirm.getByRole('alert').waitFor(); // a wrong code keeps the modal open with the reason
    await page.keyboard.type(await nextCode());
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'hidden' });
    const after = (await t.app.inject({ method: 'GET', url: `/api/api-credentials/${connectionId}`, headers: bearer(owner.accessToken) })).json().data;
    expect(after.api_key.endsWith(rotated.slice(-4))).toBe(true);
    await page.getByText('rotated', { exact: true }).waitFor();
    await screenshot(page, 'connection');

    // Reveal (owner): the plaintext shows once, after the code.
    await page.getByRole('main').getByRole('button', { name: 'Reveal' }).click();
    await page.getByRole('dialog', { name: 'Reveal credentials' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    const shown = page.getByRole('dialog', { name: 'Credentials' });
    await shown.getByText(rotated, { exact: true }).waitFor();
    await expectAccessible(page, 'revealed credentials');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);

    // An OAuth connection: Reconnect and Disconnect instead of Rotate; Disconnect behind the MFA modal.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('link', { name: 'Xero subsidiary' }).click();
    await page.getByRole('heading', { name: 'Xero · subsidiary' }).waitFor();
    expect(await page.getByRole('main').getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    await page.getByRole('main').getByRole('button', { name: 'Reconnect' }).waitFor();
    await page.getByRole('main').getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('dialog', { name: 'Disconnect Xero (subsidiary)' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('main').locator('[data-status]').first().getAttribute('data-status')).toBe('disabled');
    expect(refused).toEqual([]);

    // A viewer: no Connect, no Rotate, and the API refuses the rotation anyway.
    const viewerEmail = `viewer-${randomBytes(3).toString('hex')}@example.com`;
    const invited = await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email: viewerEmail, role: 'viewer', method: 'temporary_password' } });
    expect(invited.statusCode, invited.body).toBe(201);
    const viewerPassword = invited.json().data.temporaryPassword as string;
    const viewerContext = await browser.newContext(STILL);
    const viewerPage = await viewerContext.newPage();
    await viewerPage.goto(`${base}/admin/sign-in`);
    await viewerPage.getByLabel(/^Organization/).fill(slug);
    await viewerPage.getByLabel('Email').fill(viewerEmail);
    await viewerPage.getByLabel(/^Password/).fill(viewerPassword);
    await viewerPage.getByRole('button', { name: 'Sign in' }).click();
    // A temporary password: choosing one's own comes before anything else.
    await viewerPage.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await expectAccessible(viewerPage, 'change of a temporary password');
    await viewerPage.getByLabel(/^Current password/).fill(viewerPassword);
    await viewerPage.getByLabel(/^New password/).fill('the-viewer-chose-this-one');
    await viewerPage.getByLabel(/^Repeat the new password/).fill('the-viewer-chose-this-one');
    await viewerPage.getByRole('button', { name: 'Change password' }).click();
    await viewerPage.getByText('Read-only').waitFor();
    expect(await viewerPage.getByRole('button', { name: /^Connect / }).count()).toBe(0);
    await expectAccessible(viewerPage, 'integrations as a viewer');
    await viewerPage.goto(`${base}/admin/connections/${connectionId}`);
    await viewerPage.getByText('This connection could not be shown').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    const viewer = await apiLogin(slug, viewerEmail, 'the-viewer-chose-this-one');
    const refusedRotation = await t.app.inject({ method: 'PUT', url: `/api/api-credentials/${connectionId}`, headers: { ...bearer(viewer.accessToken), 'x-mfa-code': await nextCode() }, payload: { apiKey: rotated } });
    expect(refusedRotation.statusCode).toBe(403);
    await viewerContext.close();

    // The owner follows a deep link in a new browser: sign-in, now with the MFA step, then the page asked for.
    const again = await browser.newContext(STILL);
    const second = await again.newPage();
    await second.goto(`${base}/admin/connections/${connectionId}`);
    await second.waitForURL('**/admin/sign-in');
    await second.getByLabel(/^Organization/).fill(slug);
    await second.getByLabel('Email').fill(email);
    await second.getByLabel(/^Password/).fill(password);
    await second.getByRole('button', { name: 'Sign in' }).click();
    await second.getByLabel('Verification code').fill(await nextCode());
    await expectAccessible(second, 'MFA step');
    await second.getByRole('button', { name: 'Verify' }).click();
    await second.waitForURL(`**/admin/connections/${connectionId}`);
    await second.getByRole('heading', { name: 'Stripe · default' }).waitFor();
    await again.close();
    await context.close();
  }, 180_000);

  it('a reload keeps the person signed in through the refresh cookie, the token is in no storage, and a session ended elsewhere signs the page out', async () => {
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const slug = uniqueSlug('ui');
    const email = `owner-${randomBytes(3).toString('hex')}@example.com`;
    const password = STRONG_PASSWORD();
    await page.goto(`${base}/admin/sign-up`);
    await page.getByLabel('Organization name').fill('Reload Ltd');
    await page.getByLabel('Workspace address').fill(slug);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL('**/admin/get-started');
    await page.goto(`${base}/admin/integrations`); // a new page load, like a reload
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    const stored = await pageStorage(page);
    expect(stored).not.toMatch(/eyJ|khr_/);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'keyhold_refresh')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });

    // The same person ends the browser's session from another sign-in: the page's next call signs it out.
    const other = await apiLogin(slug, email, password);
    const sessions = (await t.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: bearer(other.accessToken) })).json().data as Array<{ id: string; current: boolean }>;
    for (const s of sessions.filter((x) => !x.current)) {
      expect((await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${s.id}`, headers: bearer(other.accessToken) })).statusCode).toBe(200);
    }
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('link', { name: 'Integrations' }).click(); // remounts the page: its connections are asked again
    await page.waitForURL('**/admin/sign-in');
    await context.close();
  }, 60_000);

  it('where the operator closed sign-up, the console offers none', async () => {
    const closed = await testApp({ signup: 'closed' });
    try {
      await closed.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(closed.app.server.address() as AddressInfo).port}`;
      const context = await browser.newContext(STILL);
      const page = await context.newPage();
      await page.goto(`${url}/admin/sign-up`);
      await page.getByText('Sign-up is closed').waitFor();
      expect(await page.getByRole('button', { name: 'Create organization' }).count()).toBe(0);
      await expectAccessible(page, 'sign-up closed');
      // Back on sign-in the mode is already known (cached), so the missing link is not a race.
      await page.getByRole('link', { name: 'Back to sign-in' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.getByRole('link', { name: 'Create an organization' }).count()).toBe(0);
      await context.close();
    } finally {
      await closed.close();
    }
  }, 60_000);
});
