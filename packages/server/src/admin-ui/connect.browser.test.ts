import { mkdirSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey, signup, type Account } from '../test-support/accounts.js';
import { credentialsFor } from '../test-support/credentials.js';
import { type TestApp, freePort, testApp } from '../test-support/index.js';
import { oauthOptions } from '../test-support/oauth.js';
import { assertConsoleBuilt, browserTestsSkipped, cspViolations, expectAccessible, launchChromium } from './browser.js';

const STILL = { viewport: { width: 1100, height: 800 }, reducedMotion: 'reduce' as const };
const skipped = browserTestsSkipped();
if (skipped) console.warn(skipped);
const shots = process.env.KEYHOLD_SCREENSHOTS;

/** @keyhold/connect as `npm run build` leaves it: the file an application would serve. */
const CONNECT_JS = fileURLToPath(new URL('../../../connect/dist/index.js', import.meta.url));

/**
 * The embedding application's page: it opens Connect with @keyhold/connect and records every
 * message it receives, whatever its origin, so a test can see that nothing arrived.
 */
const EMBED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Embedding app</title></head>
<body><main><h1>Embedding app</h1><button id="open">Connect an account</button><div id="slot"></div><pre id="out"></pre></main>
<script type="module">
import { openConnect } from '/connect.js';
window.__messages = [];
addEventListener('message', (e) => window.__messages.push({ origin: e.origin, data: e.data }));
const q = new URLSearchParams(location.search);
document.getElementById('open').addEventListener('click', () => {
  openConnect(q.get('url'), { mode: q.get('mode') || 'popup', container: document.getElementById('slot') }).then(
    (r) => { document.getElementById('out').textContent = JSON.stringify(r); },
    (e) => { document.getElementById('out').textContent = 'error: ' + e.reason; });
});
</script></body></html>`;

describe.skipIf(skipped !== null)('hosted Connect embedded in another origin, in a real browser', () => {
  let t: TestApp;
  let sandbox: Sandbox;
  let browser: Browser;
  let embedServer: Server;
  let base: string;
  /** The application's origin, allowed by the sessions below; the same server under another origin is not. */
  let allowed: string;
  let foreign: string;
  let acct: Account;
  let key: string;

  beforeAll(async () => {
    assertConsoleBuilt();
    sandbox = await createSandbox();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({ ...oauthOptions(sandbox, base), publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    const embedPort = await freePort();
    embedServer = createServer((req, res) => {
      if (req.url === '/connect.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(CONNECT_JS));
      return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(EMBED_PAGE);
    });
    await new Promise<void>((resolve) => embedServer.listen(embedPort, '127.0.0.1', resolve));
    allowed = `http://localhost:${embedPort}`;
    foreign = `http://127.0.0.1:${embedPort}`;
    browser = await launchChromium();
    acct = await signup(t.app);
    key = (await createApiKey(t.app, t.clock, acct, { scopes: ['connect'], role: 'admin' })).key;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => embedServer?.close(resolve));
    await t?.close();
    await sandbox?.close();
  });

  async function session(body: object): Promise<{ url: string; token: string }> {
    const res = await t.app.inject({ method: 'POST', url: '/api/connect/sessions', headers: bearer(key), payload: { allowedOrigins: [allowed], ...body } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data;
  }
  async function embed(context: BrowserContext, origin: string, url: string, mode = 'popup') {
    const page = await context.newPage();
    await page.goto(`${origin}/?${new URLSearchParams({ url, mode })}`);
    return page;
  }
  const received = (page: Page) => page.evaluate('window.__messages') as Promise<Array<{ origin: string; data: unknown }>>;
  const outcome = (page: Page) => page.locator('#out').textContent();

  it('popup: the end user saves Stripe with Test; only the allowed opener hears of it; the link is then spent', async () => {
    const context = await browser.newContext(STILL);
    const s = await session({ allowedProviders: ['stripe', 'openai', 'xero'], label: 'customer-1' });
    const app = await embed(context, allowed, s.url);
    const [popup] = await Promise.all([app.waitForEvent('popup'), app.getByRole('button', { name: 'Connect an account' }).click()]);
    const refused = cspViolations(popup);
    await popup.getByRole('heading', { name: 'Connect an account' }).waitFor();
    await expect.poll(() => popup.getByRole('listitem').count()).toBe(3);
    await expectAccessible(popup, 'Connect page: providers');
    await popup.getByRole('listitem', { name: 'Connect Stripe' }).click();

    const { seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    await popup.getByLabel('Secret key').fill(seed.apiKey!);
    await popup.getByRole('button', { name: 'Test', exact: true }).click();
    await popup.getByText('Test passed').waitFor();
    await expectAccessible(popup, 'Connect page: API-key form');
    if (shots) {
      mkdirSync(shots, { recursive: true });
      await popup.setViewportSize({ width: 640, height: 720 });
      await popup.screenshot({ path: `${shots}/connect.png` });
    }
    await popup.getByRole('button', { name: 'Save' }).click();

    await expect.poll(() => outcome(app)).toMatch(/connectionId/);
    const result = JSON.parse((await outcome(app))!);
    expect(result).toMatchObject({ provider: 'stripe', label: 'customer-1' });
    expect((await received(app)).map((m) => m.origin)).toEqual([base]);
    await expect.poll(() => popup.isClosed()).toBe(true); // openConnect closes it
    expect(refused).toEqual([]);

    // The link is spent: opening it again is refused, and the page may not be framed any more.
    const again = await context.newPage();
    const res = await again.goto(s.url);
    expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await again.getByRole('heading', { name: 'This link was already used' }).waitFor();
    await expectAccessible(again, 'Connect page: refusal');
    await context.close();
  });

  it('popup: OAuth through the provider consent comes back to the Connect page, which tells the opener', async () => {
    const context = await browser.newContext(STILL);
    const s = await session({ allowedProviders: ['xero'], label: 'books' });
    const app = await embed(context, allowed, s.url);
    const [popup] = await Promise.all([app.waitForEvent('popup'), app.getByRole('button', { name: 'Connect an account' }).click()]);
    await popup.getByRole('button', { name: 'Continue to Xero' }).click();
    await expect.poll(() => outcome(app)).toMatch(/connectionId/);
    expect(JSON.parse((await outcome(app))!)).toMatchObject({ provider: 'xero', label: 'books' });
    const conn = await t.app.inject({ method: 'GET', url: `/api/connect/session/result`, headers: { authorization: `ConnectSession ${s.token}` } });
    expect(conn.json().data).toMatchObject({ provider: 'xero', connectionId: JSON.parse((await outcome(app))!).connectionId });
    await context.close();
  });

  it('iframe: the allowed origin frames the page and gets the result', async () => {
    const context = await browser.newContext(STILL);
    const s = await session({ allowedProviders: ['openai'], label: 'framed' });
    const app = await embed(context, allowed, s.url, 'iframe');
    const errors: string[] = [];
    app.on('pageerror', (e) => errors.push(e.message));
    await app.getByRole('button', { name: 'Connect an account' }).click();
    const frame = app.frameLocator('iframe[title="Connect an account"]');
    const { seed } = credentialsFor('openai');
    sandbox.seed('openai', seed);
    await frame.getByLabel(/API key/i).first().fill(seed.apiKey!);
    await frame.getByRole('button', { name: 'Test', exact: true }).click();
    await frame.getByText('Test passed').waitFor();
    await frame.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => outcome(app)).toMatch(/connectionId/);
    expect(JSON.parse((await outcome(app))!)).toMatchObject({ provider: 'openai', label: 'framed' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a page on an origin the session does not allow receives nothing, and cannot frame the page', async () => {
    const context = await browser.newContext(STILL);
    const s = await session({ allowedProviders: ['stripe'], label: 'elsewhere' });
    const app = await embed(context, foreign, s.url);
    const [popup] = await Promise.all([app.waitForEvent('popup'), app.getByRole('button', { name: 'Connect an account' }).click()]);
    const { seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    await popup.getByLabel('Secret key').fill(seed.apiKey!);
    await popup.getByRole('button', { name: 'Test', exact: true }).click();
    await popup.getByText('Test passed').waitFor();
    await popup.getByRole('button', { name: 'Save' }).click();
    await popup.getByRole('heading', { name: 'Account connected' }).waitFor();
    await expectAccessible(popup, 'Connect page: connected');
    await app.waitForTimeout(500);
    expect(await received(app)).toEqual([]);
    expect(await outcome(app)).toBe('');

    // Framed by the foreign origin: the browser refuses to show the page (frame-ancestors).
    const s2 = await session({ allowedProviders: ['stripe'], label: 'elsewhere-2' });
    const framed = await embed(context, foreign, s2.url, 'iframe');
    await framed.getByRole('button', { name: 'Connect an account' }).click();
    await framed.waitForTimeout(800);
    const frame = framed.frames().find((f) => f !== framed.mainFrame());
    expect(frame).toBeDefined();
    expect(await frame!.locator('#root').count()).toBe(0);
    expect(frame!.url()).not.toContain('/connect/');
    await context.close();
  });

  it('an expired link is refused', async () => {
    const context = await browser.newContext(STILL);
    const s = await session({ allowedProviders: ['stripe'], expiresInSeconds: 60 });
    t.clock.advance(61_000);
    try {
      const page = await context.newPage();
      await page.goto(s.url);
      await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    } finally {
      t.clock.advance(-61_000);
      await context.close();
    }
  });
});
