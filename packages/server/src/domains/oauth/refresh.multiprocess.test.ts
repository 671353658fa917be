import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../platform/clock.js';
import { systemActor } from '../../platform/context.js';
import { migratedScratch, nodeServices, testRing } from '../../test-support/index.js';
import { appFor, oauthOptions } from '../../test-support/oauth.js';

const WORKER = fileURLToPath(new URL('../../../test-fixtures/refresh-worker.mjs', import.meta.url));
const TENANTS = 20;
const PER_TENANT = 10;

let sandbox: Sandbox;
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let services: ReturnType<typeof nodeServices>;
const connections: Array<{ tenantId: string; provider: string; label: string }> = [];

beforeAll(async () => {
  sandbox = await createSandbox();
  scratch = await migratedScratch();
  services = nodeServices(scratch.db, testRing(), systemClock, oauthOptions(sandbox));
  sandbox.oauth.configure('xero', { accessTokenTtlSeconds: 1800 });
  const xero = services.catalog.get('xero');
  for (let t = 0; t < TENANTS; t++) {
    const tenant = await services.tenants.create({ actor: systemActor }, { slug: `mp-${t}-${crypto.randomUUID().slice(0, 8)}`, name: `Tenant ${t}` });
    for (let i = 0; i < PER_TENANT; i++) {
      // 120 s left: inside the 5-minute refresh margin, still valid.
      const grant = sandbox.oauth.mintGrant('xero', { account: `mp-${t}-${i}`, clientId: appFor('xero').clientId, accessTokenTtlSeconds: 120 });
      const label = `org-${i}`;
      await services.authorize.saveAccount({ tenantId: tenant.id, actor: systemActor }, xero, label, { id: grant.ids.xeroTenantId!, name: label, config: { xeroTenantId: grant.ids.xeroTenantId! } }, {
        accessToken: grant.accessToken,
        refreshToken: grant.refreshToken!,
        expiresIn: grant.expiresIn,
      });
      connections.push({ tenantId: tenant.id, provider: 'xero', label });
    }
  }
}, 120_000);
afterAll(async () => {
  await scratch.db.close();
  await scratch.drop();
  await sandbox.close();
});

function runWorker(input: object): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`worker exited ${code}: ${err}`))));
  });
}

describe('refresh across processes', () => {
  it('4 worker processes × 200 expiring connections: exactly 200 refresh calls, no request with an expired token', async () => {
    if (!existsSync(path.join(path.dirname(WORKER), '../dist/deps.js'))) throw new Error("packages/server/dist is missing: run 'npm run build' first");
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'keyhold-mp-')), 'connections.json');
    writeFileSync(file, JSON.stringify(connections));
    const base = {
      appUrl: scratch.appUrl,
      masterKeys: inject('masterKeys'),
      sandboxUrl: sandbox.url,
      apps: { xero: appFor('xero') },
      connectionsFile: file,
      usePath: '/connections',
      concurrency: 12,
      poolMax: 6,
    };
    sandbox.oauth.resetStats();
    const results = await Promise.all([
      runWorker({ ...base, mode: 'use' }),
      runWorker({ ...base, mode: 'use' }),
      runWorker({ ...base, mode: 'use' }),
      runWorker({ ...base, mode: 'sweep' }),
    ]);
    const stats = sandbox.oauth.stats().xero!;
    expect(stats.refresh).toBe(TENANTS * PER_TENANT);
    expect(stats.expiredTokenUses).toBe(0);
    expect(stats.unknownTokenUses).toBe(0);
    for (const r of results.filter((x) => 'used' in x)) expect([r.used, r.rejected]).toEqual([TENANTS * PER_TENANT, 0]);
    // Every connection now holds a token valid for the full lifetime, and nothing is left leased.
    const admin = new pg.Client({ connectionString: scratch.adminUrl });
    await admin.connect();
    const { rows } = await admin.query("select count(*)::int as n from connections where token_expires_at < now() + interval '25 minutes' or refresh_lease_owner is not null");
    await admin.end();
    expect(rows[0].n).toBe(0);
  }, 120_000);
});
