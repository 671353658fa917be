// Shared helpers for Keyhold benchmarks: a real embedded Postgres, the real app on loopback,
// and a closed-loop load generator. Benchmarks print figures as ratios against a baseline
// measured side by side in the same run.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts Keyhold (embedded Postgres in a temp dir) listening on 127.0.0.1. */
export async function startKeyholdForBench() {
  const { loadConfig } = await import(dist('platform/config.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { startKeyhold } = await import(dist('main.js'));
  const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const { randomBytes } = await import('node:crypto');
  const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
  const config = loadConfig({ NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_DB_POOL_MAX: '10', KEYHOLD_MASTER_KEYS: masterKeys, KEYHOLD_JWT_SECRET: randomBytes(32).toString('base64'), KEYHOLD_ADMIN_JWT_SECRET: randomBytes(32).toString('base64') });
  const running = await startKeyhold(config, createLogger({ level: 'warn' }));
  const { readFile } = await import('node:fs/promises');
  const creds = JSON.parse(await readFile(path.join(dir, 'pg', 'keyhold-credentials.json'), 'utf8'));
  return {
    url: running.url,
    masterKeys,
    appUrl: `postgres://keyhold_app:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${config.database.pgPort}/keyhold`,
    async stop() {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Closed-loop load: `concurrency` workers each send requests back to back for `seconds`.
 * Returns throughput and latency percentiles; any non-2xx response counts as an error.
 */
export async function load({ url, method = 'GET', headers = {}, body, concurrency = 8, seconds = 5, expectStatus = 200 }) {
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  const latencies = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const payload = body === undefined ? undefined : typeof body === 'function' ? body : () => JSON.stringify(body);
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const res = await request(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: payload?.(), dispatcher });
      await res.body.dump();
      latencies.push(performance.now() - t0);
      if (res.statusCode !== expectStatus) errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await dispatcher.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { requests: latencies.length, errors, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99) };
}

export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

/**
 * Stops child processes (SIGTERM) and waits until each has exited, at most `ms` (then SIGKILL), so
 * a bench never removes a data directory a server is still shutting down on.
 */
export async function stopAll(procs, ms = 20_000) {
  await Promise.all(procs.map((p) => {
    if (p.exitCode !== null || p.signalCode !== null) return undefined;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    return exited.finally(() => clearTimeout(timer));
  }));
}

/**
 * Keyhold's services in this process (no HTTP server, no job runner) on a fresh embedded Postgres
 * in a temp dir, with one bench tenant and its owner principal. `catalog` takes the catalog's
 * overrides (e.g. a sandbox's base URLs). `stop()` closes the pool, the database and the dir.
 */
export async function servicesForBench({ name, catalog = {} }) {
  const { loadConfig } = await import(dist('platform/config.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { openDatabaseEndpoint, createDb } = await import(dist('platform/db/database.js'));
  const { migrate } = await import(dist('platform/db/migrate.js'));
  const { createServices } = await import(dist('deps.js'));
  const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
  const { loadKeyRing } = await import(dist('domains/vault/kek.js'));
  const { randomBytes } = await import('node:crypto');
  const dir = await mkdtemp(path.join(tmpdir(), `keyhold-bench-${name}-`));
  await chmod(dir, 0o755);
  let endpoint;
  let db;
  const stop = async () => {
    await db?.close();
    await endpoint?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const log = createLogger({ level: 'error' });
    const config = loadConfig({
      NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_DB_POOL_MAX: '10',
      KEYHOLD_MASTER_KEYS: `bench-1:${randomBytes(32).toString('base64')}`, KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true',
    });
    endpoint = await openDatabaseEndpoint(config.database, log);
    await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
    db = createDb({ url: endpoint.appUrl, poolMax: config.database.poolMax, log });
    const services = createServices({
      db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring: await loadKeyRing(config, log),
      catalog: loadCatalog(catalog), allowPrivateProviderUrls: true, log,
    });
    const actor = { type: 'system', id: null };
    const tenant = await services.tenants.create({ actor }, { slug: `bench-${randomBytes(3).toString('hex')}`, name: 'Bench' });
    const principal = { tenantId: tenant.id, role: 'owner', actor, requestId: 'bench' };
    return { services, tenant, principal, adminUrl: endpoint.adminUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One benchmark's results, in the shape `npm run bench` tabulates: each row a measure with
 * Keyhold's figure, the baseline's (side by side in the same run), their ratio, the goal and
 * whether it is met. `higherIsBetter` says which way the ratio must point (throughput: true;
 * latency, time, size: false). Rows are printed; with BENCH_RESULTS_FILE set (the runner sets
 * it), they are also appended to that file as JSON lines.
 *
 *   report('proxy', [{ measure: 'P2 throughput, 32 conns', unit: 'req/s', keyhold: 7100, baseline: 8400, goal: 0.8 }])
 *
 * `goal` is a ratio (keyhold / baseline) unless `goalAbsolute` is given: a bound on the Keyhold
 * figure itself (e.g. added p99 ≤ 2 ms, rotation ≤ 60 s). Rows with neither are informational.
 */
export async function report(bench, rows) {
  const { appendFile } = await import('node:fs/promises');
  const out = rows.map((r) => {
    const higherIsBetter = r.higherIsBetter ?? true;
    const ratio = r.baseline ? r.keyhold / r.baseline : null;
    let met = null;
    if (r.goalAbsolute !== undefined) met = higherIsBetter ? r.keyhold >= r.goalAbsolute : r.keyhold <= r.goalAbsolute;
    else if (r.goal !== undefined && ratio !== null) met = higherIsBetter ? ratio >= r.goal : ratio <= r.goal;
    return { bench, measure: r.measure, unit: r.unit ?? '', keyhold: r.keyhold, baseline: r.baseline ?? null, ratio, goal: r.goal ?? null, goalAbsolute: r.goalAbsolute ?? null, higherIsBetter, met, note: r.note ?? null };
  });
  for (const r of out) {
    const goal = r.goalAbsolute !== null ? `${r.higherIsBetter ? '≥' : '≤'} ${r.goalAbsolute} ${r.unit}` : r.goal !== null ? `${r.higherIsBetter ? '≥' : '≤'} ${+r.goal.toFixed(2)}×` : '';
    console.log(`[${bench}] ${r.measure}: ${fmt(r.keyhold)} ${r.unit}${r.baseline !== null ? ` vs ${fmt(r.baseline)} (${fmt(r.ratio, 2)}×)` : ''}${goal ? ` goal ${goal}: ${r.met ? 'met' : 'MISSED'}` : ''}`);
  }
  if (process.env.BENCH_RESULTS_FILE) await appendFile(process.env.BENCH_RESULTS_FILE, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return out;
}

/** Starts a node script and resolves with the first line it prints (its URL). */
export async function startChild(script, env = {}, args = []) {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ proc, url: out.split('\n')[0].trim() });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

/**
 * Keyhold as a user runs it: `keyhold start` in its own process on an embedded Postgres in `dir`,
 * resolved once /ready answers. `env` adds to (and overrides) the bench defaults; `procs` gets the
 * process for stopAll. KEYHOLD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles it.
 */
export async function startKeyholdProcess({ dir, env = {}, procs }) {
  const { spawn } = await import('node:child_process');
  const { randomBytes } = await import('node:crypto');
  const port = Number(env.KEYHOLD_PORT ?? (await freePort()));
  const pgPort = Number(env.KEYHOLD_PG_PORT ?? (await freePort()));
  const nodeArgs = (process.env.KEYHOLD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const bin = new URL('../packages/server/bin/keyhold.js', import.meta.url).pathname;
  const proc = spawn(process.execPath, [...nodeArgs, bin, 'start'], {
    env: {
      ...process.env, KEYHOLD_DATA_DIR: dir, KEYHOLD_MASTER_KEYS: `bench-1:${randomBytes(32).toString('base64')}`,
      KEYHOLD_LOG_LEVEL: 'warn', NODE_ENV: 'development', ...env, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(pgPort),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  procs?.push(proc);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !(await fetch(`${url}/ready`).catch(() => null))?.ok; i++) await new Promise((r) => setTimeout(r, 100));
  return { proc, url, port, pgPort };
}
