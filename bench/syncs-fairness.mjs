// Sync scheduler fairness: a small tenant's queue wait (due → started) for its one Shopify store's
// orders sync, alone and while a big tenant's many due stores sync on the same workers (every
// Shopify store has three syncs: orders, products, inventory levels; all of the big tenant's are due). Runs go through the
// real engine (pg-boss queue and workers, the scheduler's fair claim, the proxy's tenant path,
// the sandbox's Shopify stores). Scenarios, side by side in one run:
//   alone                      the small tenant only (the baseline)
//   caps + priority (default)  + the big tenant's backlog: 10 per tenant per tick, 10 in flight,
//                              and a tenant with fewer runs in flight is queued at a higher priority
//   caps only                  + the same backlog, every run at the same priority
//   neither (control)          + the same backlog, caps lifted and no priority
// Run: npm run bench:syncs-fairness   (builds first)
//   BENCH_BIG_CONNECTIONS=1000  BENCH_WORKERS=4  BENCH_SAMPLES=40  BENCH_SECONDS=40
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { fmt, freePort, report } from './lib.mjs';

const BIG = Number(process.env.BENCH_BIG_CONNECTIONS ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
/** A scenario stops sampling after this long (the no-caps control may not get many samples). */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
/** The bench's own scheduler tick (production: every minute and soon after each scheduled run ends). */
const TICK_MS = 200;

const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const { loadConfig } = await import(dist('platform/config.js'));
const { createLogger } = await import(dist('platform/logger.js'));
const { openDatabaseEndpoint, createDb } = await import(dist('platform/db/database.js'));
const { jobsRoleUrl } = await import(dist('platform/config.js'));
const { migrate } = await import(dist('platform/db/migrate.js'));
const { createServices } = await import(dist('deps.js'));
const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
const { startJobRunner } = await import(dist('platform/jobs.js'));
const { registerSyncJobs } = await import(dist('domains/syncs/syncs.jobs.js'));
const { DEFAULT_FAIRNESS } = await import(dist('domains/syncs/schedules.js'));
const { createSandbox } = await import(new URL('../packages/sandbox/dist/index.js', import.meta.url).href);

const log = createLogger({ level: 'error' });
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-syncs-'));
await chmod(dir, 0o755);
const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
const config = loadConfig({ NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_MASTER_KEYS: masterKeys });
const endpoint = await openDatabaseEndpoint(config.database, log);
const sandbox = await createSandbox();
const runners = [];
let ticker;
try {
  await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
  const urls = { shopify: sandbox.baseUrlFor('shopify') };
  const db = createDb({ url: endpoint.appUrl, poolMax: 12, log });
  const services = createServices({
    db, clock: () => new Date(), log,
    keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) },
    ring: keyRing(parseMasterKeys(masterKeys, 'bench')),
    catalog: loadCatalog({ baseUrlOverrides: urls, authUrlOverrides: urls }),
  });
  const admin = new pg.Client({ connectionString: endpoint.adminUrl });
  await admin.connect();
  const shopify = services.catalog.get('shopify');
  const system = { actor: { type: 'system', id: null } };

  async function tenantWithStores(slug, count) {
    const tenant = await services.tenants.create(system, { slug, name: slug });
    await admin.query('update tenants set max_connections = $1 where id = $2', [count, tenant.id]);
    await services.vault.prepare(tenant.id);
    for (let i = 0; i < count; i += 100) {
      await db.withTenant(tenant.id, async (tx) => {
        for (let j = i; j < Math.min(count, i + 100); j++) {
          const store = `${slug}-${j}.myshopify.com`;
          const token = `shpat_${randomBytes(12).toString('hex')}`;
          sandbox.seed('shopify', { accessToken: token, storeDomain: store });
          sandbox.shopifyOrders.grow(store, 120);
          await services.store.create(tx, { tenantId: tenant.id, provider: shopify, label: `store-${j}`, secrets: { accessToken: token }, config: { storeDomain: store }, status: 'active', createdBy: null }, { source: 'credentials' });
        }
      });
    }
    return tenant;
  }
  const t0 = performance.now();
  const big = await tenantWithStores('big', BIG);
  const small = await tenantWithStores('small', 1);
  const seedS = (performance.now() - t0) / 1000;

  const quiet = async () => {
    // Nothing due, nothing in flight, queue empty: the next scenario starts clean.
    await admin.query('update sync_schedules set paused = true, in_flight_until = null');
    for (;;) {
      const { rows } = await admin.query(`select count(*)::int as n from pgboss.job where name = 'syncs.run' and state in ('created', 'retry', 'active')`);
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  async function scenario(name, { withBig, fairness, prioritize = true }) {
    await quiet();
    for (const r of runners.splice(0)) await r.stop();
    for (let i = 0; i < WORKERS; i++) {
      const jobs = await startJobRunner({ url: jobsRoleUrl(endpoint.adminUrl, endpoint.jobsPassword), log, pollingIntervalSeconds: 0.5 });
      await registerSyncJobs(jobs, services.syncs, { fairness, prioritize, log });
      runners.push(jobs);
    }
    clearInterval(ticker);
    ticker = setInterval(() => void services.syncs.tick(fairness, { ensure: false }).catch(() => undefined), TICK_MS);
    if (withBig) await admin.query('update sync_schedules set paused = false, next_run_at = now() where tenant_id = $1', [big.id]);
    await new Promise((r) => setTimeout(r, 1000)); // the big tenant's backlog is queued first
    const waits = [];
    let censored = null;
    const started = new Date();
    const end = performance.now() + SECONDS * 1000;
    const runsOfSmall = async () => (await admin.query(`select count(*)::int as n from sync_runs where tenant_id = $1 and status <> 'running'`, [small.id])).rows[0].n;
    while (waits.length < SAMPLES && performance.now() < end) {
      const before = await runsOfSmall();
      const due = performance.now();
      // One run per sample: the small store's orders (the measured wait is that run's).
      await admin.query(`update sync_schedules set paused = false, next_run_at = now() where tenant_id = $1 and sync = 'orders'`, [small.id]);
      let done = false;
      while (!(done = (await runsOfSmall()) > before) && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (done) {
        const { rows } = await admin.query(`select extract(epoch from started_at - due_at) * 1000 as ms from sync_runs where tenant_id = $1 order by id desc limit 1`, [small.id]);
        waits.push(Number(rows[0].ms));
      } else {
        // Still waiting when time ran out: reported apart (the time waited so far, a lower bound).
        censored = performance.now() - due;
      }
      await admin.query('update sync_schedules set paused = true where tenant_id = $1', [small.id]);
    }
    const { rows: [bigDone] } = await admin.query(`select count(*)::int as n from sync_runs where tenant_id = $1 and status = 'succeeded' and started_at >= $2`, [big.id, started]);
    waits.sort((a, b) => a - b);
    // No run finished in time: the wait is at least the time waited (shown as a lower bound).
    const pct = (p) => waits[Math.min(waits.length - 1, Math.floor((p / 100) * waits.length))] ?? censored;
    return { name, samples: waits.length, censored, p50: pct(50), p99: pct(99), bigDone: bigDone.n };
  }

  // Schedules are created lazily by the scheduler: one tick that claims nothing creates them all.
  await services.syncs.tick({ perTenant: 0, maxInFlight: 0, limit: 0 });
  const results = [];
  results.push(await scenario('alone', { withBig: false, fairness: DEFAULT_FAIRNESS }));
  results.push(await scenario('caps + priority (default)', { withBig: true, fairness: DEFAULT_FAIRNESS }));
  results.push(await scenario('caps only', { withBig: true, fairness: DEFAULT_FAIRNESS, prioritize: false }));
  results.push(await scenario('neither (control)', { withBig: true, fairness: { perTenant: 1_000_000, maxInFlight: 1_000_000, limit: 1_000_000 }, prioritize: false }));
  await quiet();
  clearInterval(ticker);

  const base = results[0];
  console.log(`# sync scheduler fairness: small tenant (1 store's orders) vs big tenant (${BIG} stores × 3 syncs due at once), ${WORKERS} workers (pg-boss), one Postgres (seeded in ${fmt(seedS)} s)`);
  console.log('scenario                    samples   small tenant queue wait p50 / p99 (ms)   vs alone (p50 / p99)   big runs done meanwhile');
  for (const r of results) {
    const ge = r.samples === 0 ? '>' : '';
    console.log(`${r.name.padEnd(27)} ${String(r.samples).padStart(7)}   ${(ge + fmt(r.p50, 0)).padStart(14)} / ${(ge + fmt(r.p99, 0)).padEnd(22)}  ${fmt(r.p50 / base.p50, 1).padStart(8)}x / ${fmt(r.p99 / base.p99, 1)}x   ${String(r.bigDone).padStart(10)}${r.censored !== null ? `   (+1 run still waiting after ${fmt(r.censored / 1000, 1)} s when time ran out)` : ''}`);
  }
  // Issue 16 asks for the figure (a small tenant must not starve), not a bound: informational rows,
  // each scenario's small-tenant wait against its wait alone.
  await report('syncs-fairness', results.slice(1).flatMap((r) => ['p50', 'p99'].map((p) => ({
    measure: `small tenant queue wait ${p}, ${r.name}, big tenant ${BIG} stores, vs alone`, unit: 'ms', keyhold: r[p], baseline: base[p], higherIsBetter: false,
    note: r.samples === 0 ? 'no run finished in time: a lower bound' : `${r.samples} samples, ${r.bigDone} big runs done meanwhile`,
  }))));
  await admin.end();
  await db.close();
} finally {
  clearInterval(ticker);
  for (const r of runners) await r.stop().catch(() => undefined);
  await sandbox.close();
  await endpoint.stop();
  await rm(dir, { recursive: true, force: true });
}
