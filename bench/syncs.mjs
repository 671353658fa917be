// Sync throughput: a full sync of a Shopify store of N orders (default 100,000) into Keyhold's
// records store — pages read through the proxy's tenant path (credentials, rate limits), each
// record validated, hashed and upserted with the change feed's cursor, the run's lease renewed
// per page — vs a bare loop reading the same pages from the same sandbox and doing one multi-row
// `INSERT … ON CONFLICT` per page. Rounds alternate (Keyhold, bare, Keyhold, bare…) on fresh
// stores of the same data; the sandbox runs in its own process.
// Run: npm run bench:syncs   (builds first)   BENCH_ORDERS=100000 BENCH_ROUNDS=2
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Agent, request } from 'undici';
import { fmt, report, servicesForBench, stopAll } from './lib.mjs';

const N = Number(process.env.BENCH_ORDERS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const API = '/admin/api/2025-07';

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

let bench;
let admin;
try {
  bench = await servicesForBench({ name: 'syncs', catalog: { baseUrlOverrides: { shopify: `${sandboxUrl}/shopify/{{storeDomain}}` } } });
  const { services, tenant, principal } = bench;

  // The bare loop's table: the records store's key and payload, no RLS, no hash, no feed.
  admin = new pg.Client({ connectionString: bench.adminUrl });
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
  // The round whose ratio is the median, so that the reported ratio is the median of the rounds'.
  const mid = ratios.indexOf(median(ratios));
  await report('syncs', [
    { measure: `full sync of ${N} Shopify orders (median of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}) vs bare fetch + INSERT … ON CONFLICT`, unit: 'records/s', keyhold: keyhold[mid].rate, baseline: bare[mid].rate, goal: 0.7 },
  ]);
} finally {
  await admin?.end();
  await bench?.stop();
  shop.disconnect();
  await stopAll([shop]);
}
