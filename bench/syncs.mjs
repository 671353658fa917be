// Sync throughput: a full sync of a Shopify store of N orders (default 100,000) into Keyhold's
// records store — pages read through the proxy's tenant path (credentials, rate limits), each
// record validated, hashed and upserted with the change feed's cursor, the run's lease renewed
// per page — vs a bare loop reading the same pages from the same sandbox and doing one multi-row
// `INSERT … ON CONFLICT` per page. Rounds alternate (Keyhold, bare, Keyhold, bare…) on fresh
// stores of the same data; the sandbox runs in its own process.
// Run: npm run bench:syncs   (builds first)   BENCH_ORDERS=100000 BENCH_ROUNDS=2
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Agent, request } from 'undici';
import { fmt, freePort, stopAll } from './lib.mjs';

const N = Number(process.env.BENCH_ORDERS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const API = '/admin/api/2025-07';
const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;

const shop = fork(new URL('./shopify-store.mjs', import.meta.url).pathname, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const next = () => new Promise((resolve) => shop.once('message', resolve));
const sandboxUrl = (await next()).url;
/** A fresh store of N orders (the same orders in every store: the data depends on the order's index and the store's name hash only). */
async function newStore() {
  const store = `bench-${randomBytes(4).toString('hex')}.myshopify.com`;
  const token = `shpat_${randomBytes(12).toString('hex')}`;
  shop.send({ store, token, count: N });
  await next();
  return { store, token };
}

const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-syncs-'));
await chmod(dir, 0o755);
let endpoint;
let db;
let admin;
try {
  const { loadConfig } = await import(dist('platform/config.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { openDatabaseEndpoint, createDb } = await import(dist('platform/db/database.js'));
  const { migrate } = await import(dist('platform/db/migrate.js'));
  const { createServices } = await import(dist('deps.js'));
  const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
  const { loadKeyRing } = await import(dist('domains/vault/kek.js'));
  const log = createLogger({ level: 'error' });
  const config = loadConfig({
    NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_DB_POOL_MAX: '10',
    KEYHOLD_MASTER_KEYS: `bench-1:${randomBytes(32).toString('base64')}`,
  });
  endpoint = await openDatabaseEndpoint(config.database, log);
  await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
  db = createDb({ url: endpoint.appUrl, poolMax: config.database.poolMax, log });
  const services = createServices({
    db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring: await loadKeyRing(config, log),
    catalog: loadCatalog({ baseUrlOverrides: { shopify: `${sandboxUrl}/shopify/{{storeDomain}}` } }), allowPrivateProviderUrls: true, log,
  });
  const actor = { type: 'system', id: null };
  const tenant = await services.tenants.create({ actor }, { slug: `bench-${randomBytes(3).toString('hex')}`, name: 'Bench' });
  const principal = { tenantId: tenant.id, role: 'owner', actor, requestId: 'bench' };

  // The bare loop's table: the records store's key and payload, no RLS, no hash, no feed.
  admin = new pg.Client({ connectionString: endpoint.adminUrl });
  await admin.connect();
  await admin.query(`create table bench_records (tenant_id uuid, connection_id uuid, model text, external_id text, payload jsonb,
    primary key (tenant_id, connection_id, model, external_id))`);

  async function keyholdRound() {
    const { store, token } = await newStore();
    const conn = await services.connections.create(principal, {
      serviceName: 'shopify', apiKey: token, label: store.split('.')[0],
      additionalConfig: { storeDomain: store, restRequestsPerSecond: '40', restBucketSize: '800' },
    }, { verify: false });
    const t0 = performance.now();
    const run = await services.syncs.run({ tenantId: tenant.id, connectionId: conn.id, sync: 'orders', trigger: 'manual' });
    const ms = performance.now() - t0;
    if (run.status !== 'succeeded' || run.added !== N) throw new Error(`Keyhold's run ${run.status} ${run.errorCode ?? ''}: ${run.added} of ${N}`);
    return { rate: (N / ms) * 1000, pages: run.pages };
  }

  async function bareRound() {
    const { store, token } = await newStore();
    const connectionId = randomUUID();
    const dispatcher = new Agent({ connections: 1 });
    let url = `${sandboxUrl}/shopify/${store}${API}/orders.json?limit=250&status=any`;
    let stored = 0;
    const t0 = performance.now();
    while (url) {
      const res = await request(url, { headers: { 'x-shopify-access-token': token }, dispatcher });
      if (res.statusCode !== 200) throw new Error(`the sandbox answered ${res.statusCode}`);
      const { orders } = await res.body.json();
      await admin.query(
        `insert into bench_records select $1, $2, 'shopify_orders', id, payload from unnest($3::text[], $4::jsonb[]) as p(id, payload)
         on conflict (tenant_id, connection_id, model, external_id) do update set payload = excluded.payload`,
        [tenant.id, connectionId, orders.map((o) => String(o.id)), orders.map((o) => JSON.stringify(o))]);
      stored += orders.length;
      const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.link ?? '')?.[1];
      url = link ? `${sandboxUrl}/shopify/${store}${API}/orders.json?${new URL(link).searchParams}` : null;
    }
    const ms = performance.now() - t0;
    await dispatcher.close();
    if (stored !== N) throw new Error(`the bare loop stored ${stored} of ${N}`);
    return { rate: (N / ms) * 1000 };
  }

  const keyhold = [];
  const bare = [];
  for (let r = 0; r < ROUNDS; r++) {
    keyhold.push(await keyholdRound());
    bare.push(await bareRound());
    console.log(`round ${r + 1}: Keyhold ${fmt(keyhold.at(-1).rate, 0)} records/s (${keyhold.at(-1).pages} pages), bare ${fmt(bare.at(-1).rate, 0)} records/s`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ratios = keyhold.map((k, i) => k.rate / bare[i].rate);
  console.log(`# Full sync of ${N} Shopify orders (250 a page), ${ROUNDS} alternating rounds (2 cores shared by Keyhold, Postgres and the sandbox)`);
  console.log(`bare fetch + one INSERT … ON CONFLICT per page  ${fmt(median(bare.map((b) => b.rate)), 0).padStart(7)} records/s`);
  console.log(`Keyhold sync run (proxy, validate, hash, feed)  ${fmt(median(keyhold.map((k) => k.rate)), 0).padStart(7)} records/s`);
  console.log(`throughput ratio (median of rounds) ${fmt(median(ratios), 2)}   rounds: ${ratios.map((x) => fmt(x, 2)).join(', ')}`);
} finally {
  await admin?.end();
  await db?.close();
  await endpoint?.stop();
  shop.disconnect();
  await stopAll([shop]);
  await rm(dir, { recursive: true, force: true });
}
