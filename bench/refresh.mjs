// Token refresh benchmark (P3): N connections whose access tokens expire within the refresh
// margin, refreshed by 2 Keyhold worker processes (background sweeps) on one Postgres against the
// sandbox's token endpoint. Baseline, side by side in the same run: 2 bare processes
// (bench/refresh-baseline.mjs) doing the same physical work — same token endpoint, same
// concurrency, same pages, same number of UPDATE statements per refresh (Keyhold's measured answers
// per UPDATE) — without leases, tenant
// transactions or encryption. Also prints the sweep's claim query plan (EXPLAIN ANALYZE, BUFFERS).
// Run: npm run bench:refresh   (builds first)
//   BENCH_REFRESH_CONNECTIONS="20000,200000"  sizes, one run each
//   BENCH_REFRESH_EXPIRY_S="60,300"           seeded tokens expire uniformly within this window
//   BENCH_REFRESH_CONCURRENCY=32              provider calls in flight per process
//   BENCH_VERBOSE=1                           progress on stderr
// The work is bounded by the sizes, not by BENCH_SECONDS: "2000" runs in well under a minute.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { fmt, freePort, report } from './lib.mjs';

const SIZES = (process.env.BENCH_REFRESH_CONNECTIONS ?? '20000,200000').split(',').map(Number);
const PER_TENANT = 100;
const WORKERS = 2;
/** Per worker process, Keyhold's and the baseline's alike. */
const CONCURRENCY = Number(process.env.BENCH_REFRESH_CONCURRENCY ?? 32);
const BATCH = 200;
const [EXPIRY_LO, EXPIRY_HI] = (process.env.BENCH_REFRESH_EXPIRY_S ?? '60,300').split(',').map(Number);

const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const { loadConfig } = await import(dist('platform/config.js'));
const { createLogger } = await import(dist('platform/logger.js'));
const { openDatabaseEndpoint, createDb } = await import(dist('platform/db/database.js'));
const { migrate } = await import(dist('platform/db/migrate.js'));
const { createServices } = await import(dist('deps.js'));
const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
const { SECRETS_PURPOSE } = await import(dist('domains/connections/store.js'));
const { Secret } = await import(dist('platform/crypto/secret.js'));
const { createSandbox } = await import(new URL('../packages/sandbox/dist/index.js', import.meta.url).href);

const log = createLogger({ level: 'warn' });
const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-refresh-'));
await chmod(dir, 0o755);
const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
const config = loadConfig({ NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_MASTER_KEYS: masterKeys });
const endpoint = await openDatabaseEndpoint(config.database, log);
const sandbox = await createSandbox();
const app = { clientId: 'keyhold-bench', clientSecret: 'bench-client-secret-0123456789' };
const rows = [];
const step = (what) => process.env.BENCH_VERBOSE && console.error(`${new Date().toISOString()} ${what}`);

/** Runs `count` copies of a node script (one JSON argument, one JSON line out) and waits for all. */
function runProcesses(script, inputs) {
  return Promise.all(inputs.map((input) => new Promise((resolve, reject) => {
    // KEYHOLD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the workers.
    const nodeArgs = (process.env.KEYHOLD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`${path.basename(script)} exited ${code}`))));
  })));
}

async function eachLimited(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

try {
  await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, log });
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
  const admin = new pg.Client({ connectionString: endpoint.adminUrl });
  await admin.connect();

  // One connection made by the real OAuth save path is the template every seeded row copies
  // (all columns but id, tenant, label, secrets, account and expiry).
  const actor = { type: 'system', id: null };
  const xero = services.catalog.get('xero');
  const tplTenant = await services.tenants.create({ actor }, { slug: 'bench-template', name: 'Bench template' });
  const g0 = sandbox.oauth.mintGrant('xero', { account: 'template', clientId: app.clientId });
  await services.authorize.saveAccount({ tenantId: tplTenant.id, actor }, xero, 'template', { id: g0.ids.xeroTenantId, name: 'template', config: { xeroTenantId: g0.ids.xeroTenantId } }, { accessToken: g0.accessToken, refreshToken: g0.refreshToken, expiresIn: g0.expiresIn });
  await admin.query('create table bench_template as select * from connections where tenant_id = $1', [tplTenant.id]);
  await admin.query('delete from connections where tenant_id = $1', [tplTenant.id]);
  const baseVersion = (await admin.query('select credential_version from bench_template')).rows[0].credential_version;
  const tenants = [];
  step('template made');

  /**
   * N connections in bulk: tenants by generate_series, each connection's secrets a real vault
   * ciphertext (the tenant's data key, AAD bound to the row), rows inserted by unnest in chunks.
   */
  async function seed(n) {
    await admin.query('delete from connections');
    const need = Math.ceil(n / PER_TENANT);
    if (tenants.length < need) {
      const { rows: made } = await admin.query(
        `insert into tenants (slug, name, max_connections) select 'bench-' || g, 'Bench ' || g, $3 from generate_series($1::int, $2::int) g returning id`,
        [tenants.length, need - 1, PER_TENANT],
      );
      tenants.push(...made.map((r) => r.id));
    }
    const cols = { id: [], tenant_id: [], label: [], secrets: [], config: [], routing_key: [] };
    const flushRows = async () => {
      const batch = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.splice(0)]));
      if (batch.id.length === 0) return;
      await admin.query(
        `insert into connections select (jsonb_populate_record(t, jsonb_build_object('id', u.id, 'tenant_id', u.tenant_id, 'label', u.label, 'secrets', u.secrets, 'config', u.config::jsonb, 'routing_key', u.routing_key))).*
           from bench_template t, unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) as u(id, tenant_id, label, secrets, config, routing_key)`,
        [batch.id, batch.tenant_id, batch.label, batch.secrets, batch.config, batch.routing_key],
      );
    };
    let inserting = Promise.resolve();
    await eachLimited(tenants.slice(0, need), 4, async (tenantId) => {
      const count = Math.min(PER_TENANT, n - tenants.indexOf(tenantId) * PER_TENANT);
      const made = await db.withTenant(tenantId, async (tx) => {
        const out = [];
        for (let i = 0; i < count; i++) {
          const g = sandbox.oauth.mintGrant('xero', { account: `${tenantId}-${i}`, clientId: app.clientId });
          const id = randomUUID();
          out.push({ id, label: `org-${i}`, account: g.ids.xeroTenantId, secrets: await services.vault.encrypt(tx, SECRETS_PURPOSE, id, JSON.stringify({ accessToken: g.accessToken, refreshToken: g.refreshToken })) });
        }
        return out;
      });
      for (const m of made) {
        cols.id.push(m.id);
        cols.tenant_id.push(tenantId);
        cols.label.push(m.label);
        cols.secrets.push(m.secrets);
        cols.config.push(JSON.stringify({ xeroTenantId: m.account }));
        cols.routing_key.push(m.account);
      }
      if (cols.id.length >= 5000) inserting = inserting.then(flushRows);
    });
    await inserting.then(flushRows);

    // The baseline's own table: plain tokens, an expiry index like the claim's, two parts.
    await admin.query(`drop table if exists bench_baseline_tokens;
      create table bench_baseline_tokens (id uuid primary key, part int not null, refresh_token text not null, secrets text not null, expires_at timestamptz not null, version int not null default 1, refreshed_at timestamptz);
      create index on bench_baseline_tokens (part, expires_at, id)`);
    for (let done = 0; done < n;) {
      const k = Math.min(5000, n - done);
      const grants = Array.from({ length: k }, (_, i) => sandbox.oauth.mintGrant('xero', { account: `baseline-${done + i}`, clientId: app.clientId }));
      await admin.query(
        `insert into bench_baseline_tokens (id, part, refresh_token, secrets, expires_at)
           select gen_random_uuid(), (row_number() over ()) % $3, r, s, now() from unnest($1::text[], $2::text[]) as u(r, s)`,
        [grants.map((g) => g.refreshToken), grants.map((g) => JSON.stringify({ accessToken: g.accessToken, refreshToken: g.refreshToken })), WORKERS],
      );
      done += k;
    }
  }

  /** Every token due within the window from now on (set right before a run, so seeding time does not eat it). */
  async function setExpiries(table, column) {
    await admin.query(`update ${table} set ${column} = now() + make_interval(secs => $1 + random() * $2)`, [EXPIRY_LO, EXPIRY_HI - EXPIRY_LO]);
    await admin.query(`vacuum analyze ${table}`);
  }

  /** The claim function's own SQL (read from the database, so the plan is the one it runs), with bench values for its parameters. */
  const { rows: [fn] } = await admin.query("select prosrc from pg_proc where proname = 'keyhold_claim_refresh_batch'");
  const claimSql = (limit) => fn.prosrc
    .replaceAll('p_owner', 'gen_random_uuid()').replaceAll('p_now', 'now()').replaceAll('p_before', "(now() + interval '300 seconds')")
    .replaceAll('p_lease_until', "(now() + interval '30 seconds')").replaceAll('p_limit', String(limit));

  /** The claim's plan and its median time over 5 runs, each rolled back (the function's own SQL). */
  async function claimPlan(label) {
    await admin.query('begin');
    const { rows: plan } = await admin.query(`explain (analyze, buffers, costs off) ${claimSql(BATCH)}`);
    await admin.query('rollback');
    console.log(`# claim query plan (${label}):\n${plan.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
    const times = [];
    for (let i = 0; i < 5; i++) {
      await admin.query('begin');
      const t0 = performance.now();
      await admin.query('select * from keyhold_claim_refresh_batch(gen_random_uuid(), now(), now() + interval \'300 seconds\', now() + interval \'30 seconds\', $1)', [BATCH]);
      times.push(performance.now() - t0);
      await admin.query('rollback');
    }
    return times.sort((a, b) => a - b)[2];
  }

  for (const n of SIZES) {
    const s0 = performance.now();
    step('seeding');
    await seed(n);
    step('seeded');
    const seedS = (performance.now() - s0) / 1000;

    // Keyhold: 2 worker processes sweep until nothing is left.
    await setExpiries('connections', 'token_expires_at');
    await admin.query('drop table if exists bench_expiry; create table bench_expiry as select id, token_expires_at as expires_at from connections');
    const claimDueMs = await claimPlan(`${n} connections, all due`);
    sandbox.oauth.resetStats();
    const worker = fileURLToPath(new URL('../packages/server/test-fixtures/refresh-worker.mjs', import.meta.url));
    const input = { mode: 'sweep', appUrl: endpoint.appUrl, masterKeys, sandboxUrl: sandbox.url, apps: { xero: app }, batch: BATCH, concurrency: CONCURRENCY, poolMax: 8 };
    step('keyhold run');
    const results = await runProcesses(worker, Array.from({ length: WORKERS }, () => input));
    const keyholdS = Math.max(...results.map((r) => r.ms)) / 1000;
    const calls = sandbox.oauth.stats().xero.refresh;
    const { rows: [c] } = await admin.query(
      `select count(*) filter (where c.credential_version > $1)::int as refreshed,
              count(*) filter (where c.credential_version > $1 + 1)::int as twice,
              count(*) filter (where c.last_refreshed_at <= e.expires_at)::int as in_time
         from connections c join bench_expiry e using (id)`, [baseVersion]);
    await admin.query('vacuum analyze connections');
    const claimSteadyMs = await claimPlan(`${n} connections, none due (steady state)`);

    // Baseline: the same sandbox, fresh stats, as many answers per UPDATE as Keyhold wrote.
    const width = Math.max(1, Math.round(results.reduce((s, r) => s + r.refreshed, 0) / Math.max(1, results.reduce((s, r) => s + r.writes, 0))));
    await setExpiries('bench_baseline_tokens', 'expires_at');
    step('baseline run');
    sandbox.oauth.resetStats();
    const baselineScript = fileURLToPath(new URL('./refresh-baseline.mjs', import.meta.url));
    const base = await runProcesses(baselineScript, Array.from({ length: WORKERS }, (_, part) => ({
      url: endpoint.adminUrl, sandboxUrl: sandbox.url, clientId: app.clientId, clientSecret: app.clientSecret, part, batch: BATCH, concurrency: CONCURRENCY, width, poolMax: 8,
    })));
    const baseRefreshed = base.reduce((s, r) => s + r.refreshed, 0);
    const baselineRps = baseRefreshed / (Math.max(...base.map((r) => r.ms)) / 1000);

    const rate = c.refreshed / keyholdS;
    // CPU per refresh in the refreshing processes: far less sensitive than rates to a shared machine.
    const cpuUs = (procs, done) => (procs.reduce((s, r) => s + r.cpuMs, 0) * 1000) / Math.max(1, done);
    const keyholdCpu = cpuUs(results, c.refreshed);
    const baselineCpu = cpuUs(base, baseRefreshed);
    console.log(`# token refresh: ${n} expiring connections (expiry in ${EXPIRY_LO}-${EXPIRY_HI} s), ${WORKERS} processes x ${CONCURRENCY} concurrent, one Postgres (seeded in ${fmt(seedS)} s)`);
    console.log(`fair baseline (bare script)    ${fmt(baselineRps, 0).padStart(8)} refreshes/s   (${baseRefreshed} refreshed, ${base.reduce((s, r) => s + r.failed, 0)} failed, ${width} answers per UPDATE like Keyhold)`);
    console.log(`Keyhold background refresh     ${fmt(rate, 0).padStart(8)} refreshes/s   ratio ${fmt(rate / baselineRps, 2)} (goal >= 0.8), all in ${fmt(keyholdS, 1)} s`);
    console.log(`client CPU per refresh        ${fmt(keyholdCpu, 0).padStart(8)} µs Keyhold, ${fmt(baselineCpu, 0)} µs baseline (worker processes only, not Postgres or the endpoint)`);
    console.log(`refresh calls at the provider  ${String(calls).padStart(8)}   refreshed ${c.refreshed}/${n}, twice ${c.twice}, before expiry ${c.in_time}`);
    console.log(`per worker: ${results.map((r) => `claimed ${r.claimed} refreshed ${r.refreshed} failed ${r.failed}`).join(' | ')}`);
    rows.push(
      { measure: `P3 refreshes/s, ${n} connections`, unit: 'refreshes/s', keyhold: rate, baseline: baselineRps, goal: 0.8 },
      { measure: `P3 worker CPU per refresh, ${n} connections`, unit: 'µs', keyhold: keyholdCpu, baseline: baselineCpu, higherIsBetter: false, note: 'refreshing processes only' },
      { measure: `P3 duplicate refreshes, ${n} connections`, unit: 'calls', keyhold: calls - c.refreshed, goalAbsolute: 0, higherIsBetter: false },
      { measure: `P3 refreshed before expiry, ${n} connections`, unit: 'connections', keyhold: c.in_time, goalAbsolute: n },
      { measure: `P3 claim query (${BATCH} due), ${n} connections`, unit: 'ms', keyhold: claimDueMs, higherIsBetter: false },
      { measure: `P3 claim query (none due), ${n} connections`, unit: 'ms', keyhold: claimSteadyMs, higherIsBetter: false },
    );
  }
  await admin.end();
  await db.close();
  await report('refresh', rows);
} finally {
  await sandbox.close();
  await endpoint.stop();
  await rm(dir, { recursive: true, force: true });
}
