// P6: master-key rotation of many tenants' data keys, online. Keyhold runs as a user runs it
// (`keyhold start`, embedded Postgres) with a new master key first in KEYHOLD_MASTER_KEYS and the
// old one after it — the documented procedure — over BENCH_ROTATION_TENANTS tenants seeded in bulk
// with data keys wrapped by the old key (bench/seed.mjs). While `keyhold keys rotate-master` runs
// in its own process, a closed-loop load of credential reads and proxy calls goes to a sample of
// tenants (more tenants than the data-key cache holds, so reads keep unwrapping keys, some still
// under the old master key and some already under the new one). Goals: rotation ≤ 60 s, 0 failed
// requests. The same load before the rotation is the baseline for its throughput.
// Run: npm run bench:rotation   (builds first)   BENCH_ROTATION_TENANTS=100000 BENCH_SECONDS=10
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Agent, request } from 'undici';
import { fmt, freePort, report, stopAll, startChild } from './lib.mjs';
import { seedTenants } from './seed.mjs';

const TENANTS = Number(process.env.BENCH_ROTATION_TENANTS ?? 100_000);
/** Tenants the load goes to: more than the DEK cache's 1,000 entries, so keys are unwrapped during the rotation. */
const SAMPLE = Math.min(TENANTS, Number(process.env.BENCH_ROTATION_SAMPLE ?? 1500));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_ROTATION_CONCURRENCY ?? 16);
/** The rotation is stopped (and the bench fails) after this long: nothing here runs unbounded. */
const ROTATION_LIMIT_S = Number(process.env.BENCH_ROTATION_LIMIT_SECONDS ?? 600);
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const here = (p) => new URL(p, import.meta.url).pathname;
const KEYHOLD = here('../packages/server/bin/keyhold.js');


/**
 * Sends requests back to back from `concurrency` workers until `until()` says stop, cycling
 * through `targets` (one request: { path, apiKey }). Anything but a 200 is a failure.
 */
async function loadUntil(base, targets, concurrency, until) {
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  const failures = [];
  let served = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (!until()) {
      const t = targets[next++ % targets.length];
      try {
        const res = await request(`${base}${t.path}`, { headers: { authorization: `Bearer ${t.apiKey}` }, dispatcher });
        const body = await res.body.text();
        if (res.statusCode === 200) served++;
        else failures.push(`${res.statusCode} ${t.path}: ${body.slice(0, 200)}`);
      } catch (err) {
        failures.push(`${t.path}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await dispatcher.close();
  return { served, failures, seconds: (performance.now() - t0) / 1000 };
}

const upstreamKey = `up_${randomBytes(16).toString('hex')}`;
const oldKey = `bench-old:${randomBytes(32).toString('base64')}`;
const newKey = `bench-new:${randomBytes(32).toString('base64')}`;
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-rotation-'));
await chmod(dir, 0o755);
const procs = [];
try {
  const upstream = await startChild(here('./upstream.mjs'), { UPSTREAM_KEY: upstreamKey });
  procs.push(upstream.proc);

  const port = await freePort();
  const pgPort = await freePort();
  const env = {
    ...process.env, KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(pgPort), KEYHOLD_LOG_LEVEL: 'warn',
    KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true', NODE_ENV: 'development',
    // Every node has the new master key first and still the old one (README: rotation, step 1).
    KEYHOLD_MASTER_KEYS: `${newKey},${oldKey}`,
  };
  const nodeArgs = (process.env.KEYHOLD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const keyhold = spawn(process.execPath, [...nodeArgs, KEYHOLD, 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(keyhold);
  const K = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !(await fetch(`${K}/ready`).catch(() => null))?.ok; i++) await new Promise((r) => setTimeout(r, 100));

  // ---- Seed: tenants whose data keys the OLD master key wraps, one custom connection each ------
  const creds = JSON.parse(await readFile(path.join(dir, 'pg', 'keyhold-credentials.json'), 'utf8'));
  const adminUrl = `postgres://postgres:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${pgPort}/keyhold`;
  const appUrl = `postgres://keyhold_app:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${pgPort}/keyhold`;
  const seeded = await seedTenants({
    adminUrl, masterKeys: oldKey, tenants: TENANTS, connectionsPerTenant: 1, sampleSize: SAMPLE, slugPrefix: 'rot',
    providers: [{ id: 'custom', secrets: () => ({ apiKey: upstreamKey }), config: () => ({ baseUrl: upstream.url, headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}' }) }],
  });
  console.log(`# seeded ${seeded.tenants} tenants (data keys under bench-old) in ${fmt(seeded.seconds)} s`);

  // An API key per sampled tenant (made in-process: a key-holding principal needs no step-up).
  const { createDb } = await import(dist('platform/db/database.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { createServices } = await import(dist('deps.js'));
  const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
  const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
  const db = createDb({ url: appUrl, poolMax: 4, log: createLogger({ level: 'warn' }) });
  const services = createServices({ db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring: keyRing(parseMasterKeys(env.KEYHOLD_MASTER_KEYS, 'bench')), catalog: loadCatalog(), allowPrivateProviderUrls: true });
  const targets = [];
  for (const t of seeded.sample) {
    const maker = { tenantId: t.id, role: 'owner', scopes: ['proxy', 'credentials:read', 'api_keys:write'], actor: { type: 'api_key', id: null } };
    const { key } = await services.apiKeys.create(maker, { name: 'bench', scopes: ['proxy', 'credentials:read'], role: 'admin' });
    targets.push({ path: '/api/connections/custom/credentials', apiKey: key }, { path: '/api/proxy/custom/v1/balance', apiKey: key });
  }
  await db.close();

  // ---- Baseline: the same load with no rotation running -------------------------------------
  // Warm-up: every target once (a key's first use is verified and its first credential read audited).
  let warmed = 0;
  await loadUntil(K, targets, CONCURRENCY, () => warmed++ >= targets.length);
  const baseEnd = performance.now() + SECONDS * 1000;
  const before = await loadUntil(K, targets, CONCURRENCY, () => performance.now() >= baseEnd);
  for (const f of before.failures.slice(0, 5)) console.log(`  failed before the rotation: ${f}`);

  // ---- The rotation (`keyhold keys rotate-master`, its own process) under the same load -------
  let rotating = true;
  const t0 = performance.now();
  const cli = spawn(process.execPath, [...nodeArgs, KEYHOLD, 'keys', 'rotate-master'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(cli);
  let cliOut = '';
  cli.stdout.on('data', (d) => { cliOut += d; });
  const limit = setTimeout(() => cli.kill('SIGKILL'), ROTATION_LIMIT_S * 1000);
  const exited = new Promise((resolve) => cli.once('exit', (code) => { rotating = false; clearTimeout(limit); resolve(code); }));
  const during = loadUntil(K, targets, CONCURRENCY, () => !rotating);
  const code = await exited;
  const rotationSeconds = (performance.now() - t0) / 1000;
  const load = await during;
  const lines = cliOut.trim().split('\n');
  console.log(`# rotate-master exited ${code} after ${fmt(rotationSeconds)} s: ${lines.at(-1)}`);
  if (code !== 0) console.log(cliOut.slice(-2000));

  // ---- What the database says afterwards --------------------------------------------------------
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const left = (await admin.query(`select count(*)::int as n from tenant_keys where kek_id <> 'bench-new'`)).rows[0].n;
  const audited = (await admin.query(`select count(distinct tenant_id)::int as n from audit_logs where action = 'vault.kek_rotate' and tenant_id is not null`)).rows[0].n;
  await admin.end();
  for (const f of load.failures.slice(0, 5)) console.log(`  failed: ${f}`);

  await report('rotation', [
    { measure: 'P6 master-key rotation time', unit: 's', keyhold: rotationSeconds, goalAbsolute: 60, higherIsBetter: false, note: `${TENANTS} tenants, keyhold keys rotate-master (process start included), exit ${code}` },
    { measure: 'P6 failed requests during rotation', unit: 'requests', keyhold: load.failures.length, goalAbsolute: 0, higherIsBetter: false, note: `credential reads + proxy calls, ${CONCURRENCY} connections, ${SAMPLE} tenants` },
    { measure: 'P6 requests served during rotation', unit: 'req/s', keyhold: load.served / load.seconds, baseline: before.served / before.seconds, note: `${load.served} served in ${fmt(load.seconds)} s; baseline: same load, no rotation` },
    { measure: 'P6 tenants rotated (one kek_rotate audit entry each)', unit: 'tenants', keyhold: audited, goalAbsolute: TENANTS, note: `${left} data keys left under the old master key` },
  ]);
  if (code !== 0 || left !== 0) process.exitCode = 1;
} finally {
  await stopAll(procs.reverse());
  await rm(dir, { recursive: true, force: true });
}
