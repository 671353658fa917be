import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shopifyWebhookDelivery } from '@keyhold/sandbox';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningCli, spawnCli, waitForHealth, scratchServerEnv } from '../../test-support/cli.js';
import { STRONG_PASSWORD } from '../../test-support/accounts.js';
import { shopifyEventId } from '../../providers/shopify/webhooks.js';
import { freePort, scratchDatabase } from '../../test-support/index.js';

/**
 * `kill -9` of the server while 1,000 signed Shopify events are being delivered, the sender
 * retrying whatever was not acknowledged (as providers do): after a restart on the same database,
 * every event that got a 2xx exists exactly once, and none is lost.
 */
const N = 1000;
const CONCURRENCY = 20;
const SECRET = `shpss_${randomBytes(12).toString('hex')}`;
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let dir: string;
const runs: RunningCli[] = [];

beforeAll(async () => {
  scratch = await scratchDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-kill9-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await scratch?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function start(port: number) {
  const run = spawnCli(['start'], {
    ...scratchServerEnv({ adminUrl: scratch.adminUrl, appPassword: inject('appPassword'), jobsPassword: inject('jobsPassword'), masterKeys: inject('masterKeys'), dataDir: dir, port }),
    KEYHOLD_WEBHOOK_SHOPIFY_SECRETS: SECRET,
  });
  runs.push(run);
  await waitForHealth(port, run);
  return run;
}

describe('kill -9 during 1,000 webhook deliveries', () => {
  it('every acknowledged event exists exactly once after a restart; unacknowledged ones are redelivered and stored', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let server = await start(port);
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ organizationName: 'Crash', slug: `crash-${randomBytes(4).toString('hex')}`, email: `o-${randomBytes(3).toString('hex')}@example.com`, password: STRONG_PASSWORD() }),
    });
    expect(signup.status).toBe(201);
    const { accessToken, tenant } = ((await signup.json()) as { data: { accessToken: string; tenant: { id: string } } }).data;
    const storeDomain = `kill9-${randomBytes(4).toString('hex')}.myshopify.com`;
    const saved = await fetch(`${base}/api/api-credentials?verify=false`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ serviceName: 'shopify', apiKey: 'shpat_kill9', additionalConfig: { storeDomain } }),
    });
    expect(saved.status).toBe(201);

    const deliveries = Array.from({ length: N }, (_, i) => shopifyWebhookDelivery({ secret: SECRET, shop: storeDomain, topic: 'orders/create', body: { id: i }, eventId: `e-${i}` }));
    const acked = new Set<number>();
    let attempts = 0;
    let killedAt = -1;
    const pending = Array.from({ length: N }, (_, i) => i);
    const sendAll = async (onAck: () => void) => {
      const queue = [...pending];
      pending.length = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          attempts++;
          try {
            const res = await fetch(`${base}/api/webhooks/shopify`, { method: 'POST', headers: deliveries[i]!.headers, body: deliveries[i]!.body });
            if (res.status === 200) {
              acked.add(i);
              onAck();
            } else pending.push(i);
          } catch {
            pending.push(i); // connection refused or reset: the provider retries later
          }
        }
      }));
    };
    await sendAll(() => {
      if (acked.size === 300 && killedAt < 0) {
        killedAt = acked.size;
        server.child.kill('SIGKILL');
      }
    });
    await server.exited;
    const ackedBeforeRestart = acked.size;
    expect(killedAt).toBe(300);
    expect(pending.length).toBeGreaterThan(0);

    server = await start(port);
    for (let round = 0; pending.length > 0 && round < 5; round++) await sendAll(() => undefined);
    expect(acked.size).toBe(N);

    const admin = new pg.Client({ connectionString: scratch.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ external_id: string; n: number }>(
        'select external_id, count(*)::int as n from inbound_events where tenant_id = $1 group by external_id', [tenant.id]);
      const counts = new Map(rows.map((r) => [r.external_id, r.n]));
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect([...acked].filter((i) => counts.get(shopifyEventId('orders/create', deliveries[i]!.body)) !== 1)).toEqual([]);
      expect(counts.size).toBe(N);
      console.info(`kill -9: ${ackedBeforeRestart} acked before the kill, ${attempts} delivery attempts for ${N} events, ${counts.size} stored, 0 duplicates, 0 lost`);
    } finally {
      await admin.end();
    }
    server.child.kill('SIGTERM');
    await server.exited;
  }, 180_000);
});
