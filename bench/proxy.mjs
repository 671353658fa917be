// Proxy and credential-read benchmarks, each against a baseline run side by side in this run.
//   P1  credential read of a warm connection: in-process (the server's helper) and through the
//       SDK over HTTP, vs a bare primary-key SELECT of the same row through pg.
//   P2  throughput and latency through /api/proxy vs a bare undici pass-through proxy to the same
//       upstream at the same concurrency (autocannon on loopback, time-bounded).
//   Memory: the server process's RSS (VmRSS) idle and at its peak under the P2 load.
// Run: npm run bench:proxy   (builds first)   BENCH_SECONDS=8 BENCH_CONNECTIONS=32,128
import crypto, { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { generate } from 'otplib';
import pg from 'pg';
import { fmt, report, stopAll, startChild, startKeyholdProcess } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SUPERUSER = 'postgres'; // the embedded cluster's superuser (platform/db/embedded.ts)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '32,128').split(',').map(Number).filter((n) => n > 0);
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const here = (p) => new URL(p, import.meta.url).pathname;

/** A process's resident memory (MiB) and CPU time so far (ms), from /proc (Linux). */
async function processStats(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 10 ms.
  return { rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024, cpuMs: (Number(stat[11]) + Number(stat[12])) * 10 };
}


const upstreamKey = `up_${randomBytes(16).toString('hex')}`;
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-proxy-'));
await chmod(dir, 0o755);
const procs = [];
try {
  const upstream = await startChild(here('./upstream.mjs'), { UPSTREAM_KEY: upstreamKey });
  procs.push(upstream.proc);
  const passthrough = await startChild(here('./passthrough.mjs'), { UPSTREAM_URL: upstream.url, UPSTREAM_KEY: upstreamKey });
  procs.push(passthrough.proc);

  // Keyhold as a user runs it: `keyhold start`, embedded Postgres, its own process.
  const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
  const { proc: keyhold, url: K, pgPort } = await startKeyholdProcess({ dir, procs, env: { KEYHOLD_MASTER_KEYS: masterKeys, KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true' } });
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
  const idle = await processStats(keyhold.pid);
  const run = (url, headers, connections, duration = SECONDS) =>
    new Promise((resolve, reject) => autocannon({ url, connections, duration, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r))));
  /** One load run, with the CPU time the serving process spent on it per request and its peak RSS. */
  const measure = async (proc, url, headers, connections, duration) => {
    const before = await processStats(proc.pid);
    let peak = before.rssMiB;
    const sampler = setInterval(() => void processStats(proc.pid).then((s) => { peak = Math.max(peak, s.rssMiB); }).catch(() => undefined), 250);
    const r = await run(url, headers, connections, duration).finally(() => clearInterval(sampler));
    const after = await processStats(proc.pid);
    return { requests: r.requests.total, seconds: r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, cpuMs: after.cpuMs - before.cpuMs, peakMiB: Math.max(peak, after.rssMiB) };
  };
  /** Runs of one side, taken alternately with the other's, summed: throughput over all, latency averaged. */
  const combine = (runs) => {
    const requests = runs.reduce((n, r) => n + r.requests, 0);
    const mean = (k) => runs.reduce((n, r) => n + r[k], 0) / runs.length;
    return { rps: requests / runs.reduce((n, r) => n + r.seconds, 0), p50: mean('p50'), p99: mean('p99'), errors: runs.reduce((n, r) => n + r.errors, 0), cpuUs: (runs.reduce((n, r) => n + r.cpuMs, 0) * 1000) / Math.max(1, requests), peakMiB: Math.max(...runs.map((r) => r.peakMiB)) };
  };
  const bareUrl = `${passthrough.url}/api/proxy/custom/v1/balance`;
  const proxyUrl = `${K}/api/proxy/custom/v1/balance`;
  const auth = { authorization: `Bearer ${apiKey}` };
  const warmUp = Math.min(2, SECONDS);
  const rows = [
    { measure: 'P1 credential read, in-process helper (warm)', unit: 'µs', keyhold: helperUs, baseline: base, goal: 1.3, higherIsBetter: false, note: 'served from memory, checked once a second' },
    { measure: 'P1 credential read, its once-a-second check', unit: 'µs', keyhold: revalidateUs, baseline: base, higherIsBetter: false, note: 'one round trip, RLS context set' },
    { measure: 'P1 credential read, SDK over HTTP', unit: 'µs', keyhold: sdkUs, baseline: base, higherIsBetter: false },
  ];
  let loadPeak = idle.rssMiB;
  for (const connections of CONNECTIONS) {
    await run(bareUrl, {}, connections, warmUp);
    await run(proxyUrl, auth, connections, warmUp);
    // Two alternating rounds of half the time each, so load that other processes put on the
    // machine meanwhile weighs on both sides alike.
    const half = Math.max(1, SECONDS / 2);
    const bareRuns = [];
    const proxyRuns = [];
    for (let round = 0; round < 2; round++) {
      bareRuns.push(await measure(passthrough.proc, bareUrl, {}, connections, half));
      proxyRuns.push(await measure(keyhold, proxyUrl, auth, connections, half));
    }
    const baseline = combine(bareRuns);
    const proxied = combine(proxyRuns);
    loadPeak = Math.max(loadPeak, proxied.peakMiB);
    console.log(`# P2 proxy, ${connections} connections, ${SECONDS} s each (autocannon, loopback, 2 cores shared by all processes)`);
    console.log(`bare undici pass-through   ${fmt(baseline.rps, 0).padStart(7)} req/s   p50 ${fmt(baseline.p50, 1)} ms   p99 ${fmt(baseline.p99, 1)} ms   errors ${baseline.errors}   CPU ${fmt(baseline.cpuUs, 0)} µs/req`);
    console.log(`Keyhold /api/proxy         ${fmt(proxied.rps, 0).padStart(7)} req/s   p50 ${fmt(proxied.p50, 1)} ms   p99 ${fmt(proxied.p99, 1)} ms   errors ${proxied.errors}   CPU ${fmt(proxied.cpuUs, 0)} µs/req`);
    rows.push(
      { measure: `P2 proxy throughput, ${connections} conns`, unit: 'req/s', keyhold: proxied.rps, baseline: baseline.rps, goal: 0.8, note: `errors ${proxied.errors} (baseline ${baseline.errors})` },
      { measure: `P2 proxy added p99, ${connections} conns`, unit: 'ms', keyhold: proxied.p99 - baseline.p99, goalAbsolute: 2, higherIsBetter: false, note: `p99 ${fmt(proxied.p99)} vs ${fmt(baseline.p99)} ms (mean of the two rounds)` },
      { measure: `P2 server CPU per request, ${connections} conns`, unit: 'µs', keyhold: proxied.cpuUs, baseline: baseline.cpuUs, higherIsBetter: false, note: 'user+system time of the serving process / requests served' },
    );
  }
  rows.push(
    { measure: 'RSS of one Keyhold node, idle', unit: 'MiB', keyhold: idle.rssMiB, higherIsBetter: false, note: 'VmRSS of the server process (embedded Postgres not counted)' },
    { measure: 'RSS of one Keyhold node, peak under P2 load', unit: 'MiB', keyhold: loadPeak, higherIsBetter: false, note: 'sampled every 250 ms' },
  );
  await report('proxy', rows);
} finally {
  await stopAll(procs.reverse());
  await rm(dir, { recursive: true, force: true });
}
