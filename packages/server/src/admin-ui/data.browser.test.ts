import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox, resendDelivery } from '@keyhold/sandbox';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../platform/crypto/secret.js';
import { type Account, bearer, enrolMfa, freshIp, signup } from '../test-support/accounts.js';
import { type TestApp, freePort, migratedScratch, testApp } from '../test-support/index.js';
import { oauthOptions } from '../test-support/oauth.js';
import { verifyWith } from '../test-support/outbound-webhooks.js';
import { assertConsoleBuilt, browserTestsSkipped, cspViolations, dismissNotifications, expectAccessible, launchChromium, screenshot, STILL } from './browser.js';

/**
 * The console's data screens in a real browser: a connection's syncs, timeline and webhook URL;
 * outbound webhook endpoints and their deliveries; inbound webhooks; notifications. The app runs on
 * a database of its own, because the outbox drain and the delivery sender work across tenants.
 */

const skipped = browserTestsSkipped();
if (skipped) console.warn(skipped);


describe.skipIf(skipped !== null)('the console data screens in a real browser', () => {
  let t: TestApp;
  let sandbox: Sandbox;
  let browser: Browser;
  let base: string;
  let dropScratch: () => Promise<void>;

  beforeAll(async () => {
    assertConsoleBuilt();
    sandbox = await createSandbox();
    const scratch = await migratedScratch();
    dropScratch = scratch.drop;
    // The platform's email sender is the sandbox's Resend, so alerts are really sent (and logged).
    const platformKey = `re_platform_${randomBytes(12).toString('hex')}`;
    sandbox.seed('resend', { apiKey: platformKey });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({
      ...oauthOptions(sandbox, base),
      publicUrl: base,
      db: scratch.db,
      // Loopback endpoints, as an operator allows for local development; no jitter.
      allowPrivateProviderUrls: true,
      deliveries: { random: () => 0.5, timeoutMs: 2_000 },
      email: { provider: 'resend', apiKey: new Secret(platformKey), from: 'Keyhold <no-reply@keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') },
    });
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sandbox?.close();
    await dropScratch?.();
  });

  const signIn = async (page: Page, acct: { slug: string; email: string; password: string }) => {
    await page.goto(`${base}/admin/sign-in`);
    await page.getByLabel(/^Organization/).fill(acct.slug);
    await page.getByLabel('Email').fill(acct.email);
    await page.getByLabel(/^Password/).fill(acct.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/admin/integrations');
  };
  const nav = async (page: Page, name: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
    // Off the menu: an active link under the pointer has its hover shade, which axe would measure.
    await page.mouse.move(900, 5);
  };
  /** What the outbox and the delivery worker do in a server, done now (no job runner here). */
  const flush = async () => {
    await t.services.events.drain();
    return t.services.webhookDeliveries.sendDue();
  };

  it('an owner runs a sync now with MFA and sees it in the history, pastes a webhook URL whose signed delivery shows under inbound webhooks (and replays it), adds an endpoint, tests, retries and recovers it, and sets who hears of what', async () => {
    const owner: Account = await signup(t.app);
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);
    await signIn(page, owner);
    const nextCode = await enrolMfa(t.app, t.clock, owner);

    // Xero by OAuth, then its page: status, times, timeline, syncs.
    await page.getByRole('button', { name: 'Connect Xero' }).click();
    await page.getByRole('dialog', { name: 'Connect Xero' }).getByRole('button', { name: 'Continue to Xero' }).click();
    await page.locator('article[data-provider="xero"] [data-status="active"]').waitFor();
    await page.getByRole('link', { name: 'Xero default' }).click();
    await page.getByRole('heading', { name: 'Xero · default' }).waitFor();
    const main = page.getByRole('main');
    await main.getByRole('row', { name: /Last refreshed never/ }).waitFor();
    await main.getByRole('row', { name: /Token expires/ }).waitFor();
    await main.getByText('created', { exact: true }).waitFor(); // the timeline, filtered by the server
    const syncs = main.getByRole('table', { name: 'Syncs' });
    await syncs.locator('tr[data-sync="invoices"]').waitFor();
    await main.getByText('No runs yet.').waitFor();

    // Run now: the step-up code, then the run shows in the history and succeeds.
    await main.getByRole('button', { name: 'Run now: invoices' }).click();
    const run = page.getByRole('dialog', { name: 'Run invoices now' });
    await run.getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await run.waitFor({ state: 'hidden' });
    const history = main.getByRole('table', { name: 'Sync history' });
    await history.locator('[data-status="succeeded"]').waitFor({ timeout: 20_000 });
    expect(await history.getByRole('cell', { name: /^manual/ }).count()).toBe(1);
    await page.reload(); // the state catches up: last run, last synced
    await main.getByRole('table', { name: 'Syncs' }).locator('tr[data-sync="invoices"] [data-status="succeeded"]').waitFor();
    expect(await main.getByRole('row', { name: /Last synced never/ }).count()).toBe(0);
    await expectAccessible(page, 'connection page with syncs');
    await screenshot(page, 'connection-syncs', { height: 1100 });

    // Reset asks for the code too; a wrong one starts nothing.
    const runsBefore = (await t.app.inject({ method: 'GET', url: '/api/syncs/runs', headers: bearer(owner.accessToken) })).json().pagination.total;
    await main.getByRole('button', { name: 'Reset: invoices' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset invoices' });
    await reset.getByLabel('Authenticator code').fill('000000');
    await page.keyboard.press('Enter');
    await reset.getByRole('alert').waitFor();
    await page.keyboard.press('Escape');
    expect((await t.app.inject({ method: 'GET', url: '/api/syncs/runs', headers: bearer(owner.accessToken) })).json().pagination.total).toBe(runsBefore);

    // Resend with its webhook signing secret: its page shows the URL to paste at Resend.
    const resendKey = `re_${randomBytes(8).toString('hex')}`;
    const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
    sandbox.seed('resend', { apiKey: resendKey });
    await nav(page, 'Integrations');
    await page.getByRole('button', { name: 'Connect Resend' }).click();
    const connect = page.getByRole('dialog', { name: 'Connect Resend' });
    await connect.getByLabel('API key').fill(resendKey);
    await connect.getByLabel('Webhook signing secret').fill(webhookSecret);
    await connect.getByRole('button', { name: 'Test', exact: true }).click();
    await connect.getByText('Test passed').waitFor();
    await connect.getByRole('button', { name: 'Save' }).click();
    await page.locator('article[data-provider="resend"] [data-status="active"]').waitFor();
    await page.getByRole('link', { name: 'Resend default' }).click();
    await page.getByRole('heading', { name: 'Resend · default' }).waitFor();
    const webhookUrl = (await page.getByTestId('webhook-url').textContent())!;
    expect(webhookUrl).toMatch(new RegExp(`^${base}/api/webhooks/resend/[A-Za-z0-9_-]{32,64}$`));
    await main.getByText('Webhook signing secret', { exact: false }).first().waitFor(); // the instructions name the field to fill
    await main.getByRole('button', { name: 'Copy URL' }).waitFor();
    await expectAccessible(page, 'connection page with a webhook URL');

    // Resend delivers a signed webhook to that URL; a forged one is refused.
    const signed = resendDelivery({ secret: webhookSecret, id: `msg_${randomBytes(6).toString('hex')}`, event: { type: 'email.delivered' }, at: t.clock() });
    expect((await fetch(webhookUrl, { method: 'POST', headers: signed.headers, body: signed.body })).status).toBe(200);
    const forged = resendDelivery({ secret: `whsec_${randomBytes(24).toString('base64')}`, id: 'msg_forged', event: { type: 'email.bounced' }, at: t.clock() });
    expect((await fetch(webhookUrl, { method: 'POST', headers: forged.headers, body: forged.body })).status).toBe(401);
    await nav(page, 'Inbound webhooks');
    const inbound = main.getByRole('table', { name: 'Inbound webhooks' });
    await inbound.getByRole('cell', { name: 'email.delivered', exact: true }).waitFor();
    expect(await inbound.getByRole('cell', { name: 'email.bounced', exact: true }).count()).toBe(0);
    // The API's filters: a topic that matches nothing, then the provider.
    await main.getByLabel('Topic').fill('email.opened');
    await main.getByText('No inbound webhooks match.').waitFor();
    await main.getByLabel('Topic').fill('');
    await main.getByLabel('Status').click();
    await page.getByRole('option', { name: 'Failed' }).click();
    await main.getByText('No inbound webhooks match.').waitFor();
    await main.getByLabel('Status').click();
    await page.getByRole('option', { name: 'Failed' }).click(); // again: cleared
    await inbound.getByRole('cell', { name: 'email.delivered', exact: true }).waitFor();
    await expectAccessible(page, 'inbound webhooks');
    await screenshot(page, 'inbound-webhooks');
    await inbound.getByRole('button', { name: /^Replay email\.delivered/ }).click();
    await page.getByText('The event is processed again.').waitFor();

    // An outbound endpoint on a local receiver: created behind the code, its secret shown once.
    await flush(); // what happened so far was handed over before the endpoint existed
    const receiverUrl = sandbox.webhookReceiver.urlFor('console');
    await nav(page, 'Webhook endpoints');
    await main.getByText('No endpoints yet.', { exact: false }).waitFor();
    await main.getByRole('button', { name: 'Add endpoint' }).click();
    const add = page.getByRole('dialog', { name: 'Add a webhook endpoint' });
    await add.getByLabel('URL').fill(receiverUrl);
    await add.getByLabel('Description').fill('Our order service');
    await expectAccessible(page, 'add endpoint form');
    await add.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('dialog', { name: 'Confirm the new endpoint' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    const once = page.getByRole('dialog', { name: 'Signing secret' });
    const secret = (await once.getByTestId('signing-secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await expectAccessible(page, 'signing secret shown once');
    await once.getByRole('button', { name: 'Done' }).click();
    await page.waitForURL('**/admin/webhooks/endpoints/*');
    const endpointId = page.url().split('/').pop()!;
    expect(await page.getByText(secret).count()).toBe(0); // not shown again

    // Send test → delivered (signed with that secret) → Retry → delivered again, same webhook-id.
    await main.getByRole('button', { name: 'Send test' }).click();
    await page.getByText('A signed test.ping is on its way').waitFor();
    await flush();
    const deliveries = main.getByRole('table', { name: 'Deliveries' });
    await deliveries.locator('[data-status="delivered"]').waitFor();
    const received = sandbox.webhookReceiver.deliveries('console');
    expect(received).toHaveLength(1);
    expect(verifyWith(secret, received[0]!, t.clock())).toMatchObject({ type: 'test.ping' });
    await deliveries.getByRole('button', { name: /^Retry delivery/ }).click();
    await page.getByText('The delivery is sent again now').waitFor();
    await flush();
    await expect.poll(() => sandbox.webhookReceiver.deliveries('console').length, { timeout: 5_000 }).toBe(2);
    expect(received[0]!.headers['webhook-id']).toBe(sandbox.webhookReceiver.deliveries('console')[1]!.headers['webhook-id']);
    await expect.poll(() => deliveries.getByRole('row').nth(1).getByRole('cell').nth(3).textContent(), { timeout: 10_000 }).toBe('2'); // attempts
    await deliveries.locator('[data-status="delivered"]').waitFor();
    await dismissNotifications(page);
    await deliveries.getByRole('button', { name: /^Attempts of delivery/ }).click();
    const attempts = page.getByRole('dialog', { name: 'Attempts' });
    await expect.poll(() => attempts.getByRole('row').count(), { timeout: 5_000 }).toBe(3); // header + 2 attempts
    await expectAccessible(page, 'delivery attempts');
    await page.keyboard.press('Escape');

    // The receiver answers 410 Gone: Keyhold disables the endpoint; the owner enables it and sends the failure again.
    sandbox.webhookReceiver.answer('console', { status: 410, times: 1 });
    await main.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => deliveries.getByRole('row').count(), { timeout: 5_000 }).toBe(3); // header + 2
    await flush();
    await page.reload();
    await main.getByText('Keyhold stopped sending to this endpoint').waitFor();
    await main.locator('[data-status="disabled"]').first().waitFor();
    await deliveries.locator('[data-status="failed"]').waitFor();
    await expectAccessible(page, 'disabled endpoint');
    await main.getByRole('button', { name: 'Enable' }).click();
    await main.locator('[data-status="enabled"]').waitFor();
    await main.getByRole('button', { name: 'Send again' }).click();
    await page.getByText('1 failed deliveries are sent again.').waitFor();
    await flush();
    await expect.poll(() => sandbox.webhookReceiver.deliveries('console').at(-1)?.status, { timeout: 5_000 }).toBe(200);
    await expect.poll(() => deliveries.locator('[data-status="failed"]').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => deliveries.locator('[data-status="delivered"]').count(), { timeout: 10_000 }).toBe(3); // and the disabled event's
    await screenshot(page, 'webhook-deliveries', { height: 1000 });

    // Rotate: a new secret, shown once, that verifies the next delivery (the old one signs alongside for 24 h).
    await main.getByRole('button', { name: 'Manage' }).click();
    await page.getByRole('menuitem', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog', { name: 'Rotate the signing secret' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    const rotated = (await page.getByRole('dialog', { name: 'Signing secret' }).getByTestId('signing-secret').textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole('dialog', { name: 'Signing secret' }).getByRole('button', { name: 'Done' }).click();
    await main.getByRole('row', { name: /Old secret signs until/ }).waitFor();
    await main.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => deliveries.getByRole('row').count(), { timeout: 5_000 }).toBe(5); // header + 4
    await flush();
    expect(verifyWith(rotated, sandbox.webhookReceiver.deliveries('console').at(-1)!, t.clock())).toMatchObject({ type: 'test.ping' });

    // The list, with the endpoint back to enabled.
    await nav(page, 'Webhook endpoints');
    await main.getByRole('table', { name: 'Webhook endpoints' }).locator(`tr[data-endpoint="${endpointId}"] [data-status="enabled"]`).waitFor();
    await expectAccessible(page, 'webhook endpoints');
    await screenshot(page, 'webhook-endpoints');

    // Notifications: the disabled endpoint was emailed to the owner; the settings change who hears of it.
    await flush(); // the webhook_endpoint.disabled event → an email to the owners
    await nav(page, 'Notifications');
    const sent = main.getByRole('table', { name: 'Sent messages' });
    await sent.getByRole('cell', { name: /^webhook endpoint disabled/ }).waitFor();
    await sent.getByRole('cell', { name: /^o…@example\.com$/ }).waitFor();
    expect(await sent.getByRole('cell', { name: owner.email, exact: true }).count()).toBe(0); // masked
    await main.getByLabel('Email for: A sync failed 3 times in a row').click({ force: true }); // the pills cover the search field
    await page.getByRole('option', { name: 'Admins' }).click();
    await page.keyboard.press('Escape');
    await main.getByRole('checkbox', { name: 'Chat for: A webhook endpoint was disabled' }).check();
    await main.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Notification settings saved.').waitFor();
    const settings = (await t.app.inject({ method: 'GET', url: '/api/notifications/settings', headers: bearer(owner.accessToken) })).json().data;
    expect(settings).toMatchObject({ emailRules: { 'sync.failed': ['owner', 'admin'] }, chatEvents: ['webhook_endpoint.disabled'] });
    await expectAccessible(page, 'notifications');
    await screenshot(page, 'notifications', { height: 1000 });

    // Delete the endpoint (behind the code): the list is empty again.
    await nav(page, 'Webhook endpoints');
    await main.getByRole('link', { name: receiverUrl }).click();
    await main.getByRole('button', { name: 'Manage' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete the endpoint' }).getByLabel('Authenticator code').fill(await nextCode());
    await page.keyboard.press('Enter');
    await page.waitForURL('**/admin/webhooks/endpoints');
    await main.getByText('No endpoints yet.', { exact: false }).waitFor();
    expect(refused).toEqual([]);
    await context.close();
  }, 240_000);

  it('a viewer sees none of these screens in the menu, no manage buttons where they deep-link, and the API refuses what the buttons would do', async () => {
    const owner = await signup(t.app);
    const nextCode = await enrolMfa(t.app, t.clock, owner);
    const token = async () => owner.accessToken;
    const stripe = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(await token()), payload: { serviceName: 'stripe', apiKey: `sk_test_${randomBytes(8).toString('hex')}` } });
    expect(stripe.statusCode, stripe.body).toBe(201);
    const endpoint = await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: { ...bearer(await token()), 'x-mfa-code': await nextCode() }, payload: { url: sandbox.webhookReceiver.urlFor('viewer'), eventTypes: ['*'] } });
    expect(endpoint.statusCode, endpoint.body).toBe(201);
    const viewerEmail = `viewer-${randomBytes(3).toString('hex')}@example.com`;
    const invited = await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(await token()), payload: { email: viewerEmail, role: 'viewer', method: 'temporary_password' } });
    expect(invited.statusCode, invited.body).toBe(201);
    const temporary = invited.json().data.temporaryPassword as string;
    // The viewer chooses their own password first (a temporary one opens nothing else).
    const viewerLogin = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email: viewerEmail, password: temporary } });
    const chosen = await t.app.inject({ method: 'POST', url: '/api/auth/password', headers: bearer(viewerLogin.json().data.accessToken), payload: { currentPassword: temporary, newPassword: 'the-viewer-chose-this-one' } });
    expect(chosen.statusCode, chosen.body).toBe(200);
    const viewer = { slug: owner.slug, email: viewerEmail, password: 'the-viewer-chose-this-one' };

    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    await signIn(page, viewer);
    const menu = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Webhook endpoints', 'Inbound webhooks', 'Notifications']) expect(await menu.getByRole('link', { name }).count()).toBe(0);
    for (const [path, refusal] of [
      ['/webhooks/endpoints', 'Endpoints could not be shown'],
      [`/webhooks/endpoints/${endpoint.json().data.id}`, 'This endpoint could not be shown'],
      ['/webhooks/inbound', 'Inbound webhooks'],
      ['/notifications', 'Settings could not be shown'],
    ] as const) {
      await page.goto(`${base}/admin${path}`);
      await page.getByRole('alert').filter({ hasText: refusal }).first().waitFor();
      for (const button of ['Add endpoint', 'Send test', 'Manage', 'Replay', 'Save settings', 'Retry']) expect(await page.getByRole('button', { name: button }).count(), `${path}: ${button}`).toBe(0);
      await expectAccessible(page, `${path} as a viewer`);
    }
    await context.close();

    const v = await relogin(viewer);
    const as = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: { ...bearer(v.accessToken), 'x-mfa-code': '123456' }, ...(payload ? { payload } : {}) });
    for (const [method, url, payload] of [
      ['POST', '/api/webhook-endpoints', { url: sandbox.webhookReceiver.urlFor('viewer'), eventTypes: ['*'] }],
      ['POST', `/api/webhook-endpoints/${endpoint.json().data.id}/test`],
      ['POST', `/api/syncs/${stripe.json().data.id}/invoices/run`],
      ['PUT', '/api/notifications/settings', { emailRules: {} }],
      ['GET', '/api/events?connection=' + stripe.json().data.id],
      ['GET', '/api/webhooks/inbound'],
    ] as const) {
      const res = await as(method, url, payload);
      expect([res.statusCode, res.json().code], `${method} ${url}`).toEqual([403, 'FORBIDDEN']);
    }
  }, 120_000);

  /** A fresh access token for someone without MFA. */
  async function relogin(acct: { slug: string; email: string; password: string }) {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: acct.slug, email: acct.email, password: acct.password } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data as { accessToken: string };
  }
});
