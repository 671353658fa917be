import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../platform/context.js';
import { type Account, STRONG_PASSWORD, bearer, signup } from '../test-support/accounts.js';
import { connectAccounting } from '../test-support/accounting.js';
import { shopifyStore } from '../test-support/commerce.js';
import { type TestApp, freePort, migratedScratch, testApp } from '../test-support/index.js';
import { adminQuery, callbackWith, consentAt, oauthOptions, startConnect, type ConnectOptions } from '../test-support/oauth.js';
import { seedHealth } from '../test-support/platform-health.js';
import { assertConsoleBuilt, browserTestsSkipped, cspViolations, expectAccessible, launchChromium, pageStorage, screenshot, STILL } from './browser.js';

/**
 * The dashboards and the platform console in a real browser, on a database of this file's own
 * (the health page counts across every tenant, so only this file's tenants may be there).
 */
const skipped = browserTestsSkipped();
if (skipped) console.warn(skipped);


/** The sandbox's Shopify orders are dated from 2026-10-01, one an hour: "now" is within them. */
const NOW = Date.UTC(2026, 9, 12, 12);
const digits = (s: string | null) => (s ?? '').replace(/[^0-9]/g, '');

describe.skipIf(skipped !== null)('dashboards and the platform console in a real browser', () => {
  let t: TestApp;
  let sandbox: Sandbox;
  let browser: Browser;
  let base: string;
  let scratch: Awaited<ReturnType<typeof migratedScratch>>;
  const harness = () => ({
    t, sandbox, scratch,
    connect: async (acct: Account, provider: string, o: ConnectOptions = {}) => {
      const started = await startConnect(t.app, acct, provider, o);
      return callbackWith(t.app, await consentAt(started, o.consent), started.cookie);
    },
    close: async () => undefined,
  });

  beforeAll(async () => {
    assertConsoleBuilt();
    sandbox = await createSandbox();
    scratch = await migratedScratch();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({ ...oauthOptions(sandbox, base), publicUrl: base, db: scratch.db });
    t.clock.set(NOW);
    t.services.syncs.useQueue(async () => undefined);
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sandbox?.close();
    await scratch?.drop();
  });

  /** Follows a navigation link and takes the pointer off it (a hovered link is not what axe should measure). */
  const follow = async (page: Page, name: string) => {
    await page.getByRole('link', { name }).click();
    await page.mouse.move(1200, 840);
  };

  const signInAs = async (page: Page, acct: Account, to: string) => {
    await page.goto(`${base}/admin${to}`);
    await page.getByLabel(/^Organization/).fill(acct.slug);
    await page.getByLabel('Email').fill(acct.email);
    await page.getByLabel(/^Password/).fill(acct.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`**/admin${to}`);
  };

  // First: the health figures cross every tenant of this database, so they are checked before the dashboards add theirs.
  it('a platform admin signs in, sees health figures matching what was seeded, filters tenants, opens one, suspends and reactivates it; every page passes axe', async () => {
    const { expected, a } = await seedHealth(t, scratch.adminUrl);
    const email = `ops-${randomBytes(3).toString('hex')}@keyhold.example`;
    const password = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'SUPPORT', password });
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);
    const scripts: string[] = [];
    page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(r.url()); });

    // The tenant sign-in page, from a fresh browser context: interactive once its button is there.
    const started = performance.now();
    await page.goto(`${base}/admin/sign-in`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    console.info(`sign-in page interactive ${(performance.now() - started).toFixed(0)} ms after navigation (loopback, cold cache)`);
    expect(scripts.filter((u) => /\/assets\/charts-/.test(u))).toEqual([]);

    await page.goto(`${base}/admin/platform/health`);
    await page.waitForURL('**/admin/platform/sign-in');
    // The chart library is fetched by the pages that draw charts, never by a sign-in page.
    await page.getByLabel('Email').waitFor();
    expect(scripts.filter((u) => /\/assets\/charts-/.test(u))).toEqual([]);
    await expectAccessible(page, 'platform sign-in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/admin/platform/health');
    // A reload stays signed in through the HttpOnly cookie; no token in any storage.
    await page.reload();
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    expect(await pageStorage(page)).not.toMatch(/eyJ|refresh/i);

    // Health: the figures are the seeded ones.
    const stat = (label: string) => page.locator(`[data-stat="${label}"]`).textContent();
    await expect.poll(() => stat('Connections')).toBe(String(expected.connections.total));
    expect(await stat('Needs re-auth')).toBe(String(expected.needsReauth));
    expect(await stat('Tokens expired')).toBe(String(expected.tokens.expired));
    expect(await stat('Failing syncs')).toBe(String(expected.failingSyncs));
    expect(await stat('Webhook quarantine')).toBe(String(expected.webhookQuarantine));
    expect(await page.locator('[data-stat^="Expiring within"]').textContent()).toBe(String(expected.tokens.expiringSoon));
    expect(await page.getByTestId('by-status').textContent()).toBe('Active: 3 · Needs re-auth: 1 · Degraded: 1');
    await expect.poll(() => page.locator('[data-attention]').count()).toBe(2);
    expect(await page.locator('[data-attention]').first().getAttribute('data-attention')).toBe(a.slug);
    await expect.poll(() => page.getByRole('button', { name: /^Replay/ }).count()).toBe(0); // SUPPORT may not replay (tenants:update)
    await page.getByRole('img', { name: 'Connections by status' }).waitFor();
    expect(scripts.filter((u) => /\/assets\/charts-/.test(u))).toHaveLength(1);
    await expectAccessible(page, 'platform health');
    await screenshot(page, 'platform-health', { height: 1100 });

    // Admins.
    await follow(page, 'Admins');
    await page.getByRole('cell', { name: email }).waitFor();
    await expectAccessible(page, 'platform admins');

    // Tenants: a filter narrows the list to one.
    await follow(page, 'Tenants');
    await page.waitForURL('**/admin/platform/tenants');
    await expect.poll(() => page.getByTestId('tenant-total').textContent()).toBe(`${expected.tenants.trial + expected.tenants.suspended} tenants`);
    await expectAccessible(page, 'platform tenants');
    await screenshot(page, 'platform-tenants');
    await page.getByLabel('Search').fill(a.slug);
    await expect.poll(() => page.locator('[data-tenant]').count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status', { exact: true }).first().click();
    await page.getByRole('option', { name: 'suspended' }).click();
    await expect.poll(() => page.getByTestId('tenant-total').textContent()).toBe('1 tenant');
    await expectAccessible(page, 'platform tenants (filtered)');
    await page.goto(`${base}/admin/platform/tenants/${a.tenantId}`);

    // The tenant page: usage against quotas, then suspend (with a reason) and reactivate.
    await page.getByRole('heading', { name: 'Acme', level: 1 }).waitFor();
    await expect.poll(() => page.locator('[data-usage="Connections"]').textContent()).toBe('4 of 10');
    await expectAccessible(page, 'platform tenant');
    await page.getByRole('button', { name: 'Suspend' }).click();
    const dialog = page.getByRole('dialog', { name: 'Suspend Acme' });
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await dialog.getByText('Say why').waitFor();
    await expectAccessible(page, 'suspend dialog');
    await dialog.getByLabel(/^Reason/).fill('Card declined three times');
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await page.locator('[data-status="suspended"]').waitFor();
    expect((await t.services.tenants.get(a.tenantId)).status).toBe('suspended');
    // The organization is locked out at once.
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(a.accessToken) })).statusCode).toBe(403);
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await page.locator('[data-status="active"]').waitFor();
    expect((await t.services.tenants.get(a.tenantId)).status).toBe('active');
    expect(refused).toEqual([]);
    await context.close();
  }, 120_000);

  it('dashboards: each says what to connect while nothing is; then working capital, its history chart, commerce sales per store and low stock, exchange rates per company', async () => {
    const owner = await signup(t.app);
    const context = await browser.newContext(STILL);
    const page = await context.newPage();
    const refused = cspViolations(page);
    const charts: string[] = [];
    page.on('request', (r) => { if (/\/assets\/charts-/.test(r.url())) charts.push(r.url()); });
    await signInAs(page, owner, '/dashboards/working-capital');

    // Nothing connected: a friendly call to action linking to the integrations page, not an error.
    const cta = page.getByTestId('connect-first');
    await cta.getByRole('heading', { name: 'Connect your accounting to see this' }).waitFor();
    expect(await cta.getByRole('link', { name: 'Connect Xero' }).getAttribute('href')).toBe('/admin/integrations?connect=xero');
    expect(await page.getByRole('alert').count()).toBe(0);
    await expectAccessible(page, 'working capital (not configured)');
    await follow(page, 'Commerce');
    await page.getByRole('heading', { name: 'Connect a store to see this' }).waitFor();
    await expectAccessible(page, 'commerce (not configured)');
    await follow(page, 'Exchange rates');
    await page.getByRole('heading', { name: 'Connect QuickBooks to see this' }).waitFor();
    await expectAccessible(page, 'exchange rates (not configured)');
    // Sign-in and pages without a chart never fetched the chart library.
    expect(charts).toEqual([]);

    // Xero synced, today's snapshot stored, and three weeks of earlier days.
    const h = harness();
    const xero = await connectAccounting(h as never, owner, 'xero');
    expect(await t.services.syncs.run({ tenantId: owner.tenantId, connectionId: xero.connectionId, sync: 'invoices', trigger: 'manual' })).toMatchObject({ status: 'succeeded' });
    await t.services.workingCapital.snapshot(owner.tenantId);
    for (let d = 1; d <= 21; d++) {
      await adminQuery(scratch.adminUrl, `insert into working_capital_metrics (tenant_id, metric_date, source, connection_id, accounts_receivable, accounts_payable, inventory_value, as_of, currency)
        select tenant_id, metric_date - $2::int, source, connection_id, round(accounts_receivable * (1 - $2::int * 0.012), 2),
               round((accounts_payable * (1 + sin($2::int) * 0.05))::numeric, 2), inventory_value, as_of - make_interval(days => $2::int), currency
        from working_capital_metrics where tenant_id = $1 and metric_date = $3::date`, [owner.tenantId, d, new Date(NOW).toISOString().slice(0, 10)]);
    }
    const wc = (await t.app.inject({ method: 'GET', url: '/api/working-capital/current', headers: bearer(owner.accessToken) })).json().data;
    await follow(page, 'Working capital');
    const figure = (label: string) => page.locator(`[data-figure="${label}"]`).textContent();
    await expect.poll(async () => digits(await figure('Accounts receivable'))).toBe(digits(wc.accountsReceivable.toFixed(2)));
    expect(digits(await figure('Accounts payable'))).toBe(digits(wc.accountsPayable.toFixed(2)));
    expect(digits(await figure('Working capital'))).toBe(digits(Math.abs(wc.workingCapital).toFixed(2)));
    await page.getByRole('img', { name: /Working capital, receivables and payables/ }).waitFor();
    await expect.poll(() => page.locator('svg .recharts-line').count()).toBe(3);
    expect(await page.getByRole('row').count()).toBe(22 + 1);
    await expectAccessible(page, 'working capital');
    await screenshot(page, 'working-capital', { height: 1150 });

    // Two Shopify stores synced: sales per store and the low-stock list, as the API counts them.
    const harnessShop = h as never;
    for (const label of ['main', 'outlet']) {
      const store = await shopifyStore(harnessShop, owner, { label, orders: label === 'main' ? 300 : 220, products: label === 'main' ? 12 : 6 });
      for (const sync of ['orders', 'products', 'inventory_levels']) {
        expect(await t.services.syncs.run({ tenantId: owner.tenantId, connectionId: store.connectionId, sync, trigger: 'manual' }), `${label} ${sync}`).toMatchObject({ status: 'succeeded' });
      }
    }
    const summary = (await t.app.inject({ method: 'GET', url: '/api/commerce/summary', headers: bearer(owner.accessToken) })).json().data;
    expect(summary.stores.every((s: { last7Days: { orders: number } }) => s.last7Days.orders > 0)).toBe(true);
    await follow(page, 'Commerce');
    await page.getByRole('img', { name: /Sales per store/ }).waitFor();
    await expect.poll(() => page.locator('[data-store]').count()).toBe(2);
    for (const s of summary.stores) {
      const row = page.locator(`[data-store="${s.label}"]`);
      expect(await row.textContent()).toContain(String(s.last30Days.orders));
    }
    expect(await page.getByTestId('low-stock-count').textContent()).toContain(`${summary.lowStock.count} item`);
    expect(summary.lowStock.count).toBeGreaterThan(0);
    await expectAccessible(page, 'commerce');
    await screenshot(page, 'commerce', { height: 1150 });
    // Settings: a lower threshold lists fewer items, as the API counts them.
    await page.getByLabel('Low-stock threshold').fill('3');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Low-stock threshold saved').waitFor();
    const lower = (await t.app.inject({ method: 'GET', url: '/api/commerce/summary', headers: bearer(owner.accessToken) })).json().data;
    expect(lower.lowStockThreshold).toBe(3);
    expect(lower.lowStock.count).toBeLessThan(summary.lowStock.count);
    await expect.poll(() => page.getByTestId('low-stock-count').textContent()).toContain(`${lower.lowStock.count} item${lower.lowStock.count === 1 ? '' : 's'} under 3 available`);

    // Exchange rates: one row per QuickBooks company; Sync now asks for the MFA code first.
    const qbo = await connectAccounting(h as never, owner, 'quickbooks', 'uk-company');
    // Yesterday's rates, written into the company by the daily sync, and today's: one still pending.
    const today = new Date(NOW).toISOString().slice(0, 10);
    const yesterday = new Date(NOW - 86_400_000).toISOString().slice(0, 10);
    const rates: Array<[string, string, string, boolean]> = [
      ['EUR', yesterday, '0.8412', true], ['USD', yesterday, '0.7531', true], ['EUR', today, '0.8420', true], ['USD', today, '0.7529', false],
    ];
    for (const [currency, date, rate, written] of rates) {
      await adminQuery(scratch.adminUrl, `insert into exchange_rates (tenant_id, connection_id, currency, rate_date, home_currency, rate, source, synced_at, updated_at)
        values ($1, $2, $3, $4, 'GBP', $5, 'ecb', $6, now())`, [owner.tenantId, qbo.connectionId, currency, date, rate, written ? new Date(NOW) : null]);
    }
    await adminQuery(scratch.adminUrl, `insert into exchange_rate_runs (id, tenant_id, connection_id, rate_date, trigger, status, rates_synced, started_at, finished_at)
      values (gen_random_uuid(), $1, $2, $3, 'schedule', 'succeeded', 2, $4, $4)`, [owner.tenantId, qbo.connectionId, yesterday, new Date(NOW - 86_400_000)]);
    await follow(page, 'Exchange rates');
    const company = page.locator('[data-company="uk-company"]');
    await company.waitFor();
    await expect.poll(() => company.textContent()).toContain('3 of 4');
    await expect.poll(() => page.getByRole('cell', { name: '0.7529' }).count()).toBe(1);
    await screenshot(page, 'exchange-rates');
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('dialog', { name: 'Sync exchange rates now' }).getByLabel('Authenticator code').waitFor();
    await expectAccessible(page, 'exchange rates sync dialog');
    await page.keyboard.press('Escape');
    await expectAccessible(page, 'exchange rates');
    expect(refused).toEqual([]);
    await context.close();
  }, 180_000);
});
