// Token refresh benchmark: N connections whose access tokens expire within the refresh margin,
// refreshed by 2 worker processes (background sweeps) on one Postgres, against the sandbox's
// token endpoint. Baseline, measured in the same run: the token endpoint's own maximum rate
// (refresh grants sent straight at it, no Keyhold in between).
// Run: npm run bench:refresh   (builds first)   BENCH_CONNECTIONS=20000 by default.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { fmt, freePort } from './lib.mjs';

const N = Number(process.env.BENCH_CONNECTIONS ?? 20_000);
const PER_TENANT = 100;
const WORKERS = 2;
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const { loadConfig } = await import(dist('platform/config.js'));
const { createLogger } = await import(dist('platform/logger.js'));
const { openDatabaseEndpoint } = await import(dist('platform/db/database.js'));
const { migrate } = await import(dist('platform/db/migrate.js'));
const { createDb } = await import(dist('platform/db/database.js'));
const { createServices } = await import(dist('deps.js'));
const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
const { Secret } = await import(dist('platform/crypto/secret.js'));
const { createSandbox } = await import(new URL('../packages/sandbox/dist/index.js', import.meta.url).href);

const log = createLogger({ level: 'warn' });
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-refresh-'));
await chmod(dir, 0o755);
const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
const config = loadConfig({ NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_MASTER_KEYS: masterKeys });
const endpoint = await openDatabaseEndpoint(config.database, log);
const sandbox = await createSandbox();
try {
  await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, log });
  const app = { clientId: 'keyhold-bench', clientSecret: 'bench-client-secret-0123456789' };
  sandbox.oauth.registerApp('xero', { ...app, redirectUri: 'http://127.0.0.1/api/integrations/xero/callback' });
  sandbox.oauth.configure('xero', { accessTokenTtlSeconds: 1800 });
  const urls = { xero: `${sandbox.url}/xero` };
  const db = createDb({ url: endpoint.appUrl, poolMax: 8, log });
  const services = createServices({
    db,
    clock: () => new Date(),
    keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) },
    ring: keyRing(parseMasterKeys(masterKeys, 'bench')),
    catalog: loadCatalog({ baseUrlOverrides: urls, authUrlOverrides: urls }),
    oauthApps: { xero: { clientId: app.clientId, clientSecret: new Secret(app.clientSecret) } },
  });

  // Seed: N connections across N/100 tenants, each token with 120 s left (inside the margin).
  const t0 = performance.now();
  const admin = new pg.Client({ connectionString: endpoint.adminUrl });
  await admin.connect();
  const xero = services.catalog.get('xero');
  const tenants = [];
  for (let t = 0; t < N / PER_TENANT; t++) tenants.push(await services.tenants.create({ actor: { type: 'system', id: null } }, { slug: `bench-${t}`, name: `Bench ${t}` }));
  await admin.query('update tenants set max_connections = $1', [PER_TENANT]);
  let seeded = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (tenants.length) {
      const tenant = tenants.pop();
      for (let i = 0; i < PER_TENANT; i++) {
        const g = sandbox.oauth.mintGrant('xero', { account: `${tenant.id}-${i}`, clientId: app.clientId, accessTokenTtlSeconds: 120 });
        await services.authorize.saveAccount({ tenantId: tenant.id, actor: { type: 'system', id: null } }, xero, `org-${i}`, { id: g.ids.xeroTenantId, name: `org-${i}`, config: { xeroTenantId: g.ids.xeroTenantId } }, { accessToken: g.accessToken, refreshToken: g.refreshToken, expiresIn: g.expiresIn });
        seeded++;
      }
    }
  }));
  const seedS = (performance.now() - t0) / 1000;

  // Baseline: the sandbox token endpoint's own maximum rate, refresh grants straight at it.
  const baseGrants = Array.from({ length: Math.min(N, 10_000) }, (_, i) => sandbox.oauth.mintGrant('xero', { account: `baseline-${i}`, clientId: app.clientId }));
  const basic = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
  const agent = new Agent({ connections: 32 });
  let next = 0;
  const b0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < baseGrants.length) {
      const g = baseGrants[next++];
      const res = await request(`${sandbox.url}/xero/connect/token`, { method: 'POST', dispatcher: agent, headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(g.refreshToken)}` });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`baseline refresh failed: ${res.statusCode}`);
    }
  }));
  const baselineRps = baseGrants.length / ((performance.now() - b0) / 1000);
  await agent.close();

  // Keyhold: 2 worker processes sweep until nothing is left.
  sandbox.oauth.resetStats();
  const worker = fileURLToPath(new URL('../packages/server/test-fixtures/refresh-worker.mjs', import.meta.url));
  const input = { mode: 'sweep', appUrl: endpoint.appUrl, masterKeys, sandboxUrl: sandbox.url, apps: { xero: app }, batch: 200, concurrency: 32, poolMax: 8 };
  const k0 = performance.now();
  const results = await Promise.all(Array.from({ length: WORKERS }, () => new Promise((resolve, reject) => {
    // KEYHOLD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the workers.
    const nodeArgs = (process.env.KEYHOLD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, worker, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`worker exited ${code}`))));
  })));
  const keyholdS = (performance.now() - k0) / 1000;
  const calls = sandbox.oauth.stats().xero.refresh;
  const { rows } = await admin.query('select count(*) filter (where credential_version = 2)::int as once, count(*) filter (where credential_version > 2)::int as twice, count(*)::int as total from connections');
  await admin.end();
  await db.close();

  const rate = rows[0].once / keyholdS;
  console.log(`# token refresh: ${N} expiring connections, ${WORKERS} worker processes, one Postgres (seeded in ${fmt(seedS)} s)`);
  console.log(`sandbox token endpoint alone   ${fmt(baselineRps, 0).padStart(8)} refreshes/s   (${baseGrants.length} grants, 32 concurrent)`);
  console.log(`Keyhold background refresh     ${fmt(rate, 0).padStart(8)} refreshes/s   ratio ${fmt(rate / baselineRps, 2)} (goal >= 0.8)`);
  console.log(`time to refresh all            ${fmt(keyholdS, 1).padStart(8)} s`);
  console.log(`refresh calls at the provider  ${String(calls).padStart(8)}   connections refreshed once ${rows[0].once}/${rows[0].total}, more than once ${rows[0].twice} (duplicates: ${calls - rows[0].once})`);
  console.log(`per worker: ${results.map((r) => `claimed ${r.claimed} refreshed ${r.refreshed} failed ${r.failed}`).join(' | ')}`);
} finally {
  await sandbox.close();
  await endpoint.stop();
  await rm(dir, { recursive: true, force: true });
}
