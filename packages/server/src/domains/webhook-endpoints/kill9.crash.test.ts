import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Sandbox, createSandbox, shopifyWebhookDelivery } from '@keyhold/sandbox';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { STRONG_PASSWORD, totpAt } from '../../test-support/accounts.js';
import { type RunningCli, spawnCli, waitForHealth, scratchServerEnv } from '../../test-support/cli.js';
import { freePort, scratchDatabase } from '../../test-support/index.js';

/**
 * `kill -9` of the server while it is sending 300 events to a tenant's endpoint (a slow one, so
 * deliveries are in flight): after a restart on the same database the endpoint has received every
 * event, and an event it received twice came both times with the same webhook-id.
 */
const N = 300;
const SECRET = `shpss_${randomBytes(12).toString('hex')}`;
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let sandbox: Sandbox;
let dir: string;
const runs: RunningCli[] = [];

beforeAll(async () => {
  scratch = await scratchDatabase();
  sandbox = await createSandbox();
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-kill9-out-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await sandbox?.close();
  await scratch?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function start(port: number) {
  const run = spawnCli(['start'], {
    ...scratchServerEnv({ adminUrl: scratch.adminUrl, appPassword: inject('appPassword'), jobsPassword: inject('jobsPassword'), masterKeys: inject('masterKeys'), dataDir: dir, port }),
    KEYHOLD_WEBHOOK_SHOPIFY_SECRETS: SECRET,
    // The sandbox's receiver is on loopback, as an operator's local endpoint would be.
    KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true',
    KEYHOLD_DELIVERY_TIMEOUT_MS: '2000',
  });
  runs.push(run);
  await waitForHealth(port, run);
  return run;
}

const until = async (what: string, ok: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('kill -9 while sending outbound webhooks', () => {
  it('every event reaches the endpoint after a restart; a duplicate carries the same webhook-id', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let server = await start(port);
    const json = async (res: Response) => ((await res.json()) as { data: Record<string, unknown> }).data;
    const post = (url: string, body: object, headers: Record<string, string> = {}) =>
      fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const signup = await json(await post('/api/auth/signup', { organizationName: 'Crash out', slug: `out-${randomBytes(4).toString('hex')}`, email: `o-${randomBytes(3).toString('hex')}@example.com`, password: STRONG_PASSWORD() }));
    const auth = { authorization: `Bearer ${signup.accessToken as string}` };
    const { secret: totp } = await json(await post('/api/auth/mfa/setup', {}, auth));
    const { recoveryCodes } = await json(await post('/api/auth/mfa/enable', { code: await totpAt(totp as string, new Date()) }, auth));
    const name = `kill9-${randomBytes(4).toString('hex')}`;
    sandbox.webhookReceiver.answer(name, { status: 200, delayMs: 150 });
    const endpoint = await post('/api/webhook-endpoints', { url: sandbox.webhookReceiver.urlFor(name), eventTypes: ['webhook.received'] }, { ...auth, 'x-mfa-code': (recoveryCodes as string[])[0]! });
    expect(endpoint.status).toBe(201);
    const storeDomain = `kill9-${randomBytes(4).toString('hex')}.myshopify.com`;
    expect((await post('/api/api-credentials?verify=false', { serviceName: 'shopify', apiKey: 'shpat_kill9', additionalConfig: { storeDomain } }, auth)).status).toBe(201);

    // N provider webhooks in, N webhook.received events out to the endpoint.
    for (let i = 0; i < N; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, N - i) }, async (_, j) => {
        const d = shopifyWebhookDelivery({ secret: SECRET, shop: storeDomain, topic: 'orders/create', body: { id: i + j }, eventId: `e-${i + j}` });
        expect((await fetch(`${base}/api/webhooks/shopify`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
      }));
    }
    const received = () => sandbox.webhookReceiver.deliveries(name);
    await until('a quarter of the deliveries', () => received().length >= N / 4, 90_000);
    server.child.kill('SIGKILL');
    await server.exited;
    const beforeKill = received().length;
    expect(beforeKill).toBeLessThan(N);

    const restarted = Date.now();
    server = await start(port);
    const eventOf = (body: string) => (JSON.parse(body) as { data: { payload: { externalId: string } } }).data.payload.externalId;
    await until('every event at the endpoint', () => new Set(received().map((d) => eventOf(d.body))).size === N, 150_000);
    const completedMs = Date.now() - restarted;

    const idsByEvent = new Map<string, Set<string>>();
    for (const d of received()) idsByEvent.set(eventOf(d.body), (idsByEvent.get(eventOf(d.body)) ?? new Set()).add(d.headers['webhook-id']!));
    expect([...idsByEvent.values()].filter((ids) => ids.size !== 1), 'an event sent under two webhook-ids').toEqual([]);
    const duplicates = received().length - N;

    const admin = new pg.Client({ connectionString: scratch.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ status: string; n: number }>('select status, count(*)::int as n from webhook_deliveries group by status');
      expect(rows.reduce((n, r) => n + r.n, 0)).toBe(N);
    } finally {
      await admin.end();
    }
    console.info(`kill -9 (outbound): ${beforeKill} of ${N} received before the kill, all ${N} received ${completedMs} ms after the restart, ${duplicates} duplicate deliveries (same webhook-id), 0 lost`);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 300_000);
});
