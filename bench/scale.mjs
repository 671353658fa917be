// Flat costs at scale (P5): two Keyholds side by side, one seeded with BENCH_SCALE_SMALL_TENANTS
// (1,000) tenants, one with BENCH_SCALE_TENANTS (100,000), each tenant with
// BENCH_SCALE_CONNECTIONS_PER_TENANT (10) connections (bulk seeding: bench/seed.mjs). Every measure
// alternates between the two (BENCH_SCALE_ROUNDS rounds, best of them), and the large one's figure
// is reported against the small one's (the baseline):
//   - credential read, warm (in-process services, a connection read before) and cold (a tenant
//     never read by this process: its data key is read, unwrapped and cached first);
//   - proxy throughput and p50 through /api/proxy (API keys of several tenants in turn) against
//     bench/upstream.mjs on loopback;
//   - the refresh sweep's claim (keyhold_claim_refresh_batch; the same 200 connections are due at
//     both sizes, each claim rolled back) with its plan and buffers;
//   - the inbound-webhook routing lookup by routing key (keyhold_webhook_route_by_key), with its plan;
// plus the database's size, the DEK cache's memory and the vault's after serving many tenants
// (informational).
// Run: npm run bench:scale   (builds first)   BENCH_SECONDS=5 BENCH_SCALE_TENANTS=100000
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { Agent, request } from 'undici';
import { fmt, report, stopAll, startChild, startKeyholdProcess } from './lib.mjs';
import { seedTenants } from './seed.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const LARGE = Number(process.env.BENCH_SCALE_TENANTS ?? 100_000);
const SMALL = Math.min(LARGE, Number(process.env.BENCH_SCALE_SMALL_TENANTS ?? 1_000));
const PER_TENANT = Number(process.env.BENCH_SCALE_CONNECTIONS_PER_TENANT ?? 10);
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 5);
const COLD_READS = Math.max(1, Math.min(100, Math.floor((SMALL - 1 - 8) / ROUNDS)));
const PROXY_TENANTS = 8;
const PROXY_CONNECTIONS = 32;
/** Tenants whose xero tokens the measured claims find due: the first 100 of each seed (200 connections). */
const DUE_TENANTS = Math.min(SMALL, 100);
/**
 * When those tokens expire: two hours from now, so the servers' own refresh sweeps (every minute,
 * 5 min margin) leave them alone while the bench claims them with its clock set to just before.
 * Every other token expires 3 to 23 hours from now.
 */
const DUE_AT = Date.now() + 2 * 3_600_000;
const SUPERUSER = 'postgres'; // the embedded cluster's superuser (platform/db/embedded.ts)
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const here = (p) => new URL(p, import.meta.url).pathname;


/** Mean µs per call of `fn` over `n` sequential calls after a warm-up, and the median. */
async function timeOps(n, fn, warmup = 100) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const each = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    each.push((performance.now() - t0) * 1000);
  }
  each.sort((a, b) => a - b);
  return { mean: each.reduce((a, b) => a + b, 0) / n, p50: each[Math.floor(n / 2)] };
}

/** Closed-loop load for `seconds`, each request with the next tenant's API key in turn. */
async function proxyLoad(url, apiKeys, seconds) {
  const dispatcher = new Agent({ connections: PROXY_CONNECTIONS, pipelining: 1 });
  const latencies = [];
  let errors = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: PROXY_CONNECTIONS }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const res = await request(url, { dispatcher, headers: { authorization: `Bearer ${apiKeys[next++ % apiKeys.length]}` } });
      await res.body.dump();
      latencies.push(performance.now() - s);
      if (res.statusCode !== 200) errors++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  await dispatcher.close();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)], errors };
}

/**
 * The body of a SQL function as a prepared statement (its parameters by position), so EXPLAIN
 * shows the plan the function runs; the function's own text, so the plan follows its migrations.
 */
async function prepareBody(client, fn, name) {
  const { rows } = await client.query(
    `select p.prosrc, p.proargnames, p.pronargs, l.lanname, pg_get_function_identity_arguments(p.oid) as args
     from pg_proc p join pg_language l on l.oid = p.prolang where p.proname = $1`,
    [fn],
  );
  const f = rows[0];
  if (!f || f.lanname !== 'sql') return false;
  let body = f.prosrc.trim().replace(/;\s*$/, '');
  // Input arguments come first; a RETURNS TABLE's column names follow them.
  (f.proargnames ?? []).slice(0, f.pronargs).forEach((arg, i) => (body = body.replace(new RegExp(`\\b${arg}\\b`, 'g'), `$${i + 1}`)));
  const types = f.args.split(',').map((a) => a.trim().split(/\s+/).slice(1).join(' '));
  await client.query(`prepare ${name} (${types.join(', ')}) as ${body}`);
  return true;
}

/** `EXPLAIN (ANALYZE, BUFFERS)` of a prepared body, rolled back: node types, index names, buffers touched. */
async function explain(client, name, params) {
  await client.query('begin');
  try {
    const literals = params.map((p) => client.escapeLiteral(Array.isArray(p) ? `{${p.map((x) => `"${x}"`).join(',')}}` : p instanceof Date ? p.toISOString() : String(p)));
    if (process.env.BENCH_SCALE_PLANS) console.log((await client.query(`explain (analyze, buffers) execute ${name}(${literals.join(', ')})`)).rows.map((r) => r['QUERY PLAN']).join('\n'));
    const { rows } = await client.query(`explain (analyze, buffers, format json) execute ${name}(${literals.join(', ')})`);
    const plan = rows[0]['QUERY PLAN'][0].Plan;
    const nodes = [];
    const walk = (n) => {
      nodes.push(`${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}${n['Rows Removed by Filter'] ? ` (filtered ${n['Rows Removed by Filter']})` : ''}`);
      (n.Plans ?? []).forEach(walk);
    };
    walk(plan);
    return { buffers: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'], nodes };
  } finally {
    await client.query('rollback');
  }
}

const gc = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
})();
const heapNow = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const { createDb } = await import(dist('platform/db/database.js'));
const { createLogger } = await import(dist('platform/logger.js'));
const { createServices } = await import(dist('deps.js'));
const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * One Keyhold as a user runs it (`keyhold start`, its embedded Postgres, its own process) seeded
 * with `tenants` tenants, and Keyhold's services in this process on the same database and key.
 */
async function stack(name, tenants, upstream, procs, closers, dirs) {
  const dir = await mkdtemp(path.join(tmpdir(), `keyhold-bench-scale-${name}-`));
  await chmod(dir, 0o755);
  dirs.push(dir);
  const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
  const { proc: keyhold, url, pgPort } = await startKeyholdProcess({ dir, procs, env: { KEYHOLD_MASTER_KEYS: masterKeys, KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: 'true' } });
  const creds = JSON.parse(await readFile(path.join(dir, 'pg', 'keyhold-credentials.json'), 'utf8'));
  const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${pgPort}/keyhold`;
  const appUrl = `postgres://keyhold_app:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${pgPort}/keyhold`;

  // Every tenant: custom (the proxy's, pointed at the upstream), shopify (routing keys), stripe,
  // xero (OAuth expiry: the first DUE_TENANTS tenants' tokens at DUE_AT, so the claim has the same
  // work at both sizes).
  const later = () => new Date(Date.now() + 3 * 3_600_000 + Math.floor(Math.random() * 20 * 3_600_000));
  const providers = [
    { id: 'custom', secrets: () => ({ apiKey: upstream.key }), config: () => ({ baseUrl: upstream.url, headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}' }) },
    { id: 'shopify', tokenExpiresAt: later },
    'stripe',
    { id: 'xero', tokenExpiresAt: (ctx) => (ctx.tenantIndex < DUE_TENANTS ? new Date(DUE_AT + Math.floor(Math.random() * 60_000)) : later()) },
  ];
  // BENCH_SCALE_FILLFACTOR=100 seeds as before migration 0044 (pages packed full), for comparison.
  if (process.env.BENCH_SCALE_FILLFACTOR) {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`alter table connections set (fillfactor = ${Number(process.env.BENCH_SCALE_FILLFACTOR)})`).finally(() => c.end());
  }
  const seeded = await seedTenants({
    adminUrl, masterKeys, tenants, connectionsPerTenant: PER_TENANT, providers, slugPrefix: name, sampleSize: 1 + PROXY_TENANTS + COLD_READS * ROUNDS, vacuum: true,
    progress: ({ tenants: n, seconds }) => { if (n % 20_000 === 0) console.log(`  ${name}: ${n} tenants after ${fmt(seconds)} s`); },
  });
  console.log(`# ${name}: seeded ${seeded.tenants} tenants / ${seeded.connections} connections in ${fmt(seeded.seconds)} s (${fmt(seeded.connections / seeded.insertSeconds, 0)} connections/s)`);

  const db = createDb({ url: appUrl, poolMax: 4, log: createLogger({ level: 'warn' }) });
  closers.push(() => db.close());
  const services = createServices({ db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring: keyRing(parseMasterKeys(masterKeys, 'bench')), catalog: loadCatalog(), allowPrivateProviderUrls: true });
  const app = new pg.Client({ connectionString: appUrl });
  await app.connect();
  closers.push(() => app.end());
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  closers.push(() => admin.end());
  const plans = { claim: await prepareBody(admin, 'keyhold_claim_refresh_batch', 'claim_body'), route: await prepareBody(admin, 'keyhold_webhook_route_by_key', 'route_body') };

  const [warmTenant, ...rest] = seeded.sample;
  const proxyTenants = rest.slice(0, PROXY_TENANTS);
  let cold = rest.slice(PROXY_TENANTS);
  const principal = (t) => ({ tenantId: t.id, role: 'admin', scopes: ['credentials:read'], actor: { type: 'api_key', id: 'bench' }, requestId: 'bench' });
  const apiKeys = [];
  for (const t of proxyTenants) apiKeys.push((await services.apiKeys.create({ tenantId: t.id, role: 'owner', actor: { type: 'system', id: null }, requestId: 'bench' }, { name: 'bench', scopes: ['proxy'] })).key);
  const routingKeys = seeded.sample.flatMap((t) => t.connections.filter((c) => c.routingKey && c.provider === 'shopify').map((c) => c.routingKey));
  const keyAt = (i) => routingKeys[(i * 7919) % routingKeys.length];
  const claimArgs = () => {
    const now = new Date(DUE_AT - 240_000); // the sweep's margin (5 min) then reaches a minute past DUE_AT
    return [randomUUID(), now, new Date(now.getTime() + 300_000), new Date(now.getTime() + 60_000), 100];
  };

  return {
    name,
    tenants,
    /** A connection read before, served from the warm cache. */
    warmRead: () => timeOps(3000, () => services.connections.readForMachine(principal(warmTenant), 'custom')),
    /** Tenants this process has not read yet: the scope's keys are read and unwrapped first. */
    async coldRead() {
      const batch = cold.slice(0, COLD_READS);
      cold = cold.slice(COLD_READS);
      return timeOps(batch.length, (i) => services.connections.readForMachine(principal(batch[i]), 'stripe'), 0);
    },
    proxy: (seconds) => proxyLoad(`${url}/api/proxy/custom/v1/balance`, apiKeys, seconds),
    /** The sweep's claim of 100 (of the same 200 due connections at every size), each rolled back. */
    async claim() {
      // Each rolled-back claim leaves 100 dead row versions: vacuum first, as autovacuum would have,
      // and claim a few dozen times, so every round meets the table as a sweep meets it.
      await admin.query('vacuum connections');
      let claimed = 0;
      const t = await timeOps(50, async () => {
        await app.query('begin');
        claimed = (await app.query('select * from keyhold_claim_refresh_batch($1, $2, $3, $4, $5)', claimArgs())).rowCount;
        await app.query('rollback');
      }, 5);
      if (claimed !== Math.min(100, DUE_TENANTS * Math.floor(PER_TENANT / 4))) throw new Error(`${name}: the claim took ${claimed} connections`);
      return t;
    },
    async claimPlan() {
      if (!plans.claim) return null;
      await admin.query('vacuum connections');
      return explain(admin, 'claim_body', claimArgs());
    },
    /** Inbound webhook routing by key: shopify accounts spread over every tenant. */
    async route() {
      let unrouted = 0;
      const t = await timeOps(3000, async (i) => {
        if ((await app.query('select * from keyhold_webhook_route_by_key($1, $2::text[])', ['shopify', [keyAt(i)]])).rowCount !== 1) unrouted++;
      });
      if (unrouted) throw new Error(`${name}: ${unrouted} routing keys not found`);
      return t;
    },
    routePlan: () => (plans.route ? explain(admin, 'route_body', ['shopify', [keyAt(1)]]) : null),
    dbBytes: async () => Number((await admin.query('select pg_database_size(current_database()) as n')).rows[0].n),
    /** A vault of its own (own DEK cache) over this database, and `n` tenant ids to prepare with it. */
    async vaultOver(n) {
      const { createVault } = await import(dist('domains/vault/vault.service.js'));
      const { createVaultRepo } = await import(dist('domains/vault/vault.repo.js'));
      const { createDekCache } = await import(dist('domains/vault/dek-cache.js'));
      const cache = createDekCache();
      const vault = createVault({ repo: createVaultRepo(db.kysely), ring: keyRing(parseMasterKeys(masterKeys, 'bench')), cache, clock: () => new Date(), tenancy: db });
      const { rows } = await admin.query('select id from tenants order by id limit $1', [n]);
      return { vault, cache, tenantIds: rows.map((r) => r.id) };
    },
    seedRate: seeded.connections / seeded.insertSeconds,
  };
}

const procs = [];
const closers = [];
const dirs = [];
try {
  const upstreamKey = `up_${randomBytes(16).toString('hex')}`;
  const up = await startChild(here('./upstream.mjs'), { UPSTREAM_KEY: upstreamKey });
  procs.push(up.proc);
  const upstream = { url: up.url, key: upstreamKey };
  const small = await stack('small', SMALL, upstream, procs, closers, dirs);
  const large = await stack('large', LARGE, upstream, procs, closers, dirs);

  // Each measure alternates between the two sizes, ROUNDS times, and keeps each size's best round
  // (lowest latency, highest throughput): on a machine shared with other work the least disturbed
  // round is the closest to the cost itself, and the noise falls on both sizes alike. Medians are
  // printed beside it.
  const both = async (what, fn, pick, higherIsBetter = false) => {
    const got = { small: [], large: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of r % 2 ? [large, small] : [small, large]) got[s.name].push(pick(await fn(s)));
    }
    const best = (xs) => (higherIsBetter ? Math.max(...xs) : Math.min(...xs));
    const m = { small: best(got.small), large: best(got.large) };
    console.log(`${what}: best ${SMALL} tenants ${fmt(m.small, 2)}, ${LARGE} tenants ${fmt(m.large, 2)}; medians ${fmt(median(got.small), 2)}, ${fmt(median(got.large), 2)} (rounds ${got.small.map((x) => fmt(x, 1)).join('/')} vs ${got.large.map((x) => fmt(x, 1)).join('/')})`);
    return m;
  };
  // The database measures first, before the proxy's load and the reads have run on the servers.
  const claim = await both('refresh claim (µs)', (s) => s.claim(), (t) => t.mean);
  const route = await both('webhook routing lookup (µs)', (s) => s.route(), (t) => t.mean);
  const warm = await both('credential read, warm (µs)', (s) => s.warmRead(), (t) => t.mean);
  const cold = await both('credential read, cold (µs)', (s) => s.coldRead(), (t) => t.mean);
  for (const s of [small, large]) await s.proxy(Math.min(2, SECONDS)); // warm-up
  const proxyRuns = { small: [], large: [] };
  const rps = await both('proxy (req/s)', async (s) => {
    const r = await s.proxy(SECONDS);
    if (r.errors) throw new Error(`${s.name}: ${r.errors} proxy errors`);
    proxyRuns[s.name].push(r);
    return r;
  }, (r) => r.rps, true);
  const p50 = { small: Math.min(...proxyRuns.small.map((r) => r.p50)), large: Math.min(...proxyRuns.large.map((r) => r.p50)) };
  const plan = {};
  for (const s of [small, large]) {
    plan[s.name] = { claim: await s.claimPlan(), route: await s.routePlan(), dbBytes: await s.dbBytes() };
    console.log(`# plans at ${s.tenants} tenants`);
    console.log(`  claim: ${plan[s.name].claim ? `${plan[s.name].claim.buffers} buffers: ${plan[s.name].claim.nodes.join(' > ')}` : 'not a SQL function'}`);
    console.log(`  route: ${plan[s.name].route ? `${plan[s.name].route.buffers} buffers: ${plan[s.name].route.nodes.join(' > ')}` : 'not a SQL function'}`);
  }

  // The DEK cache at this scale: the heap a cache offered every tenant's data key holds (it keeps at most its bound).
  const { createDekCache } = await import(dist('domains/vault/dek-cache.js'));
  const before = heapNow();
  const cache = createDekCache();
  for (let i = 0; i < LARGE; i++) cache.set(randomUUID(), 1, randomBytes(32));
  const dekCacheBytes = heapNow() - before;
  console.log(`# DEK cache offered ${LARGE} tenants' keys: holds ${cache.size}, ${fmt(dekCacheBytes / 1024)} KiB`);

  // The vault's memory after serving twice as many tenants as its cache holds: the keys and the
  // scopes' key lists it keeps (both bounded by the cache's size).
  const served = await large.vaultOver(Math.min(LARGE, 2 * cache.max));
  const v0 = heapNow();
  for (const id of served.tenantIds) await served.vault.prepare(id);
  const vaultBytes = heapNow() - v0;
  const kept = served.vault.scopesKept?.() ?? 'all';
  console.log(`# vault after preparing ${served.tenantIds.length} tenants: ${served.cache.size} keys, ${kept} scopes' key lists, ${fmt(vaultBytes / 1024)} KiB`);

  const at = `${LARGE} vs ${SMALL} tenants`;
  await report('scale', [
    { measure: `credential read, warm, ${at}`, unit: 'µs', keyhold: warm.large, baseline: warm.small, goal: 1.2, higherIsBetter: false },
    { measure: `credential read, cold, ${at}`, unit: 'µs', keyhold: cold.large, baseline: cold.small, goal: 1.2, higherIsBetter: false },
    { measure: `proxy throughput, ${at}`, unit: 'req/s', keyhold: rps.large, baseline: rps.small, goal: 1 / 1.2 },
    { measure: `proxy p50, ${at}`, unit: 'ms', keyhold: p50.large, baseline: p50.small, goal: 1.2, higherIsBetter: false },
    { measure: `refresh sweep claim, ${at}`, unit: 'µs', keyhold: claim.large, baseline: claim.small, goal: 1.2, higherIsBetter: false, note: plan.large.claim?.nodes.join(' > ') },
    { measure: `refresh sweep claim, buffers, ${at}`, unit: 'blocks', keyhold: plan.large.claim?.buffers ?? NaN, baseline: plan.small.claim?.buffers ?? NaN, higherIsBetter: false },
    { measure: `webhook routing lookup, ${at}`, unit: 'µs', keyhold: route.large, baseline: route.small, goal: 1.2, higherIsBetter: false, note: plan.large.route?.nodes.join(' > ') },
    { measure: `database size, ${at} (${PER_TENANT} connections each)`, unit: 'MiB', keyhold: plan.large.dbBytes / 2 ** 20, baseline: plan.small.dbBytes / 2 ** 20, higherIsBetter: false },
    { measure: `DEK cache heap, offered ${LARGE} tenants' keys (holds ${cache.size})`, unit: 'KiB', keyhold: dekCacheBytes / 1024, higherIsBetter: false },
    { measure: `vault heap after ${served.tenantIds.length} tenants (${served.cache.size} keys, ${kept} key lists kept)`, unit: 'KiB', keyhold: vaultBytes / 1024, higherIsBetter: false },
    { measure: `bulk seed, ${LARGE * PER_TENANT} connections`, unit: 'connections/s', keyhold: large.seedRate },
  ]);
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await stopAll(procs.reverse());
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}
