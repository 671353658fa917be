// Proxy and credential-read benchmarks, each against a baseline run side by side in this run.
//   P1  credential read of a warm connection: in-process (the server's helper) and through the
//       SDK over HTTP, vs a bare primary-key SELECT of the same row through pg.
//   P2  throughput and latency through /api/proxy vs a bare undici pass-through proxy to the same
//       upstream at the same concurrency (autocannon on loopback, time-bounded).
// Run: npm run bench:proxy   (builds first)   BENCH_SECONDS=8 BENCH_CONNECTIONS=32
import { spawn } from 'node:child_process';
import crypto, { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { generate } from 'otplib';
import pg from 'pg';
import { fmt, freePort, stopAll } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SUPERUSER = 'postgres'; // the embedded cluster's superuser (platform/db/embedded.ts)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const here = (p) => new URL(p, import.meta.url).pathname;

/** Starts a node script and resolves with the first line it prints (its URL). */
function child(script, env, args = []) {
  const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ proc, url: line.trim() });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

const upstreamKey = `up_${randomBytes(16).toString('hex')}`;
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-proxy-'));
await chmod(dir, 0o755);
const procs = [];
try {
  const upstream = await child(here('./upstream.mjs'), { UPSTREAM_KEY: upstreamKey });
  procs.push(upstream.proc);
  const passthrough = await child(here('./passthrough.mjs'), { UPSTREAM_URL: upstream.url, UPSTREAM_KEY: upstreamKey });
  procs.push(passthrough.proc);

  // Keyhold as a user runs it: `keyhold start`, embedded Postgres, its own process.
  const port = await freePort();
  const pgPort = await freePort();
  const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
  // KEYHOLD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
  const nodeArgs = (process.env.KEYHOLD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const keyhold = spawn(process.execPath, [...nodeArgs, here('../packages/server/bin/keyhold.js'), 'start'], {
    env: { ...process.env, KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(pgPort), KEYHOLD_MASTER_KEYS: masterKeys, KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true', NODE_ENV: 'development' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  procs.push(keyhold);
  const K = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${K}/ready`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const post = async (url, body, token, extra = {}) => {
    const res = await fetch(`${K}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra }, body: JSON.stringify(body) });
    const json = await res.json();
    if (!json.success) throw new Error(`${url}: ${JSON.stringify(json)}`);
    return json.data;
  };
  const owner = await post('/api/auth/signup', { organizationName: 'Bench', slug: 'bench', email: 'owner@bench.example', password: `Bench-${randomBytes(9).toString('base64url')}` });
  const conn = await post('/api/api-credentials', { serviceName: 'custom', apiKey: upstreamKey, additionalConfig: { baseUrl: upstream.url, headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}', verifyPath: '/v1/me' } }, owner.accessToken);
  // A key that reads credentials needs the owner's step-up: enrol TOTP, then use the next step's code.
  const totp = async (offsetSeconds) => generate({ secret: mfaSecret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds });
  const mfaSecret = (await post('/api/auth/mfa/setup', {}, owner.accessToken)).secret;
  await post('/api/auth/mfa/enable', { code: await totp(0) }, owner.accessToken);
  const apiKey = (await post('/api/api-keys', { name: 'bench', scopes: ['proxy', 'credentials:read'] }, owner.accessToken, { 'x-mfa-code': await totp(30) })).key;

  // ---- P1: credential read -------------------------------------------------------------
  const creds = JSON.parse(await readFile(path.join(dir, 'pg', 'keyhold-credentials.json'), 'utf8'));
  const appUrl = `postgres://keyhold_app:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${pgPort}/keyhold`;
  const { createDb } = await import(dist('platform/db/database.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { createServices } = await import(dist('deps.js'));
  const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
  const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
  const { Keyhold } = await import(new URL('../packages/sdk/dist/index.js', import.meta.url).href);
  const db = createDb({ url: appUrl, poolMax: 4, log: createLogger({ level: 'warn' }) });
  const services = createServices({ db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring: keyRing(parseMasterKeys(masterKeys, 'bench')), catalog: loadCatalog(), allowPrivateProviderUrls: true });
  // The baseline: one SELECT by primary key on the same row, as the superuser (no RLS, no transaction).
  const bare = new pg.Pool({ connectionString: `postgres://${SUPERUSER}:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${pgPort}/keyhold`, max: 1 });
  const principal = { tenantId: owner.tenant.id, role: 'admin', scopes: ['credentials:read'], actor: { type: 'api_key', id: 'bench' } };
  const sdk = new Keyhold({ baseUrl: K, apiKey });
  const timeOps = async (n, fn) => {
    for (let i = 0; i < 200; i++) await fn(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return ((performance.now() - t0) * 1000) / n;
  };
  const bareUs = await timeOps(5000, () => bare.query('select * from connections where id = $1', [conn.id]));
  const helperUs = await timeOps(5000, () => services.connections.readForMachine(principal, 'custom'));
  // What a warm read costs when its once-a-second check is due: one round trip in the tenant's RLS context.
  const { readAsTenant } = await import(dist('platform/db/one-trip.js'));
  const revalidateUs = await timeOps(5000, () => readAsTenant(db.pool, owner.tenant.id, "select id, updated_at, status, is_active, token_expires_at from connections where provider = 'custom' and label = 'default'"));
  const sdkUs = await timeOps(2000, () => sdk.credentials('custom'));
  const bareUs2 = await timeOps(5000, () => bare.query('select * from connections where id = $1', [conn.id]));
  const base = (bareUs + bareUs2) / 2;
  console.log('# P1 credential read of a warm connection (µs per read, sequential, same database)');
  console.log(`bare pg primary-key SELECT          ${fmt(base, 0).padStart(7)} µs`);
  console.log(`server in-process helper            ${fmt(helperUs, 0).padStart(7)} µs   ratio ${fmt(helperUs / base, 2)} (goal <= 1.3; served from memory, checked once a second)`);
  console.log(`  its once-a-second check           ${fmt(revalidateUs, 0).padStart(7)} µs   ratio ${fmt(revalidateUs / base, 2)} (one round trip, RLS context set)`);
  console.log(`SDK over HTTP (API key, loopback)   ${fmt(sdkUs, 0).padStart(7)} µs   ratio ${fmt(sdkUs / base, 2)}`);
  // ---- Rate limiter cost (ADR 0003): a take from the Postgres bucket vs a token from the local lease.
  const { createRateLimiter } = await import(dist('domains/proxy/limits.js'));
  const { createLimitsRepo } = await import(dist('domains/proxy/limits.repo.js'));
  const limiter = createRateLimiter({ repo: createLimitsRepo(), tenancy: db });
  const limited = (perSecond, burst) => ({ ...services.catalog.get('custom'), id: 'custom', rateLimits: { perSecond, burst } });
  // 5/s with a huge bucket: every request leases a single token, i.e. one database round trip each.
  const perCallUs = await timeOps(3000, () => limiter.acquire(owner.tenant.id, conn.id, limited(5, 1e9), { maxWaitMs: 0 }));
  // 100,000/s: leases of ~200 ms of refill, spent locally.
  const busyConnection = crypto.randomUUID(); // a bucket of its own
  const leasedUs = await timeOps(20000, () => limiter.acquire(owner.tenant.id, busyConnection, limited(100_000, 1e9), { maxWaitMs: 0 }));
  console.log('# rate limiter per request (µs, in-process, same database)');
  console.log(`token taken from Postgres each time ${fmt(perCallUs, 0).padStart(7)} µs   ratio ${fmt(perCallUs / base, 2)} vs the bare SELECT`);
  console.log(`token from the local lease          ${fmt(leasedUs, 1).padStart(7)} µs`);
  await bare.end();
  await db.close();

  // ---- P2: proxy throughput and latency ----------------------------------------------------
  const run = (url, headers) =>
    new Promise((resolve, reject) => autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r))));
  const summary = (r) => ({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });
  await run(`${passthrough.url}/api/proxy/custom/v1/balance`, {}); // warm-up both
  await run(`${K}/api/proxy/custom/v1/balance`, { authorization: `Bearer ${apiKey}` });
  const baseline = summary(await run(`${passthrough.url}/api/proxy/custom/v1/balance`, {}));
  const proxied = summary(await run(`${K}/api/proxy/custom/v1/balance`, { authorization: `Bearer ${apiKey}` }));
  console.log(`# P2 proxy, ${CONNECTIONS} connections, ${SECONDS} s each (autocannon, loopback, 2 cores shared by all processes)`);
  console.log(`bare undici pass-through   ${fmt(baseline.rps, 0).padStart(7)} req/s   p50 ${fmt(baseline.p50, 1)} ms   p99 ${fmt(baseline.p99, 1)} ms   errors ${baseline.errors}`);
  console.log(`Keyhold /api/proxy         ${fmt(proxied.rps, 0).padStart(7)} req/s   p50 ${fmt(proxied.p50, 1)} ms   p99 ${fmt(proxied.p99, 1)} ms   errors ${proxied.errors}`);
  console.log(`throughput ratio ${fmt(proxied.rps / baseline.rps, 2)} (goal >= 0.8), added p99 ${fmt(proxied.p99 - baseline.p99, 1)} ms (goal <= 2)`);
} finally {
  await stopAll(procs.reverse());
  await rm(dir, { recursive: true, force: true });
}
