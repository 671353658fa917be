// P4 inbound webhooks: Shopify deliveries verified (HMAC on the raw body), routed to the owning
// tenant and stored before the ack, vs a bare Node HTTP server doing one INSERT of the same raw
// bodies into the same Postgres, at the same concurrency; then ack latency at a fixed 200 req/s.
// Run: npm run bench:webhooks   (builds first)   BENCH_SECONDS=8 BENCH_CONNECTIONS=32 BENCH_ROUNDS=5
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { fmt, report, stopAll, startChild, startKeyholdProcess } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// The first of a comma list, so the list bench/proxy takes from the same name also works here.
const CONNECTIONS = Number((process.env.BENCH_CONNECTIONS ?? '32').split(',')[0]);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const here = (p) => new URL(p, import.meta.url).pathname;
const SECRET = `shpss_${randomBytes(16).toString('hex')}`;


const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-webhooks-'));
await chmod(dir, 0o755);
const procs = [];
try {
  const { url: K, pgPort } = await startKeyholdProcess({ dir, procs, env: { KEYHOLD_WEBHOOK_SHOPIFY_SECRETS: SECRET } });
  const post = async (url, body, token) => {
    const res = await fetch(`${K}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const json = await res.json();
    if (!json.success) throw new Error(`${url}: ${JSON.stringify(json)}`);
    return json.data;
  };
  const owner = await post('/api/auth/signup', { organizationName: 'Bench', slug: 'bench', email: 'owner@bench.example', password: `Bench-${randomBytes(9).toString('base64url')}` });
  const shop = 'bench-store.myshopify.com';
  await post('/api/api-credentials?verify=false', { serviceName: 'shopify', apiKey: 'shpat_bench', additionalConfig: { storeDomain: shop } }, owner.accessToken);

  const creds = JSON.parse(await readFile(path.join(dir, 'pg', 'keyhold-credentials.json'), 'utf8'));
  const baseline = await startChild(here('./webhook-baseline.mjs'), { DATABASE_URL: `postgres://postgres:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${pgPort}/keyhold` });
  procs.push(baseline.proc);

  // A realistic order body (~2 KB); each request is a new event: Keyhold keys Shopify events by
  // their signed body (the id headers are unsigned), so each gets its own order id and signature.
  const orderBody = (id) => JSON.stringify({ id, name: '#1001', line_items: Array.from({ length: 8 }, (_, i) => ({ id: i, title: `Item ${i}`, quantity: 1, price: '19.90', sku: `SKU-${i}` })), note: 'x'.repeat(1200) });
  const sign = (b) => createHmac('sha256', SECRET).update(b).digest('base64');
  const body = orderBody(4711);
  const headers = { 'content-type': 'application/json', 'x-shopify-hmac-sha256': sign(body), 'x-shopify-shop-domain': shop, 'x-shopify-topic': 'orders/create' };
  const requests = [{ method: 'POST', body, setupRequest: (req) => {
    const b = orderBody(randomUUID());
    return { ...req, body: b, headers: { ...headers, 'x-shopify-hmac-sha256': sign(b), 'x-shopify-event-id': randomUUID() } };
  } }];
  const run = (url, extra = {}) =>
    new Promise((resolve, reject) => autocannon({ url, connections: CONNECTIONS, duration: SECONDS, requests, pipelining: 1, ...extra }, (err, r) => (err ? reject(err) : resolve(r))));
  const summary = (r) => ({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, ok: r['2xx'] });
  await run(baseline.url, { duration: 2 });
  await run(`${K}/api/webhooks/shopify`, { duration: 2 });
  // Rounds alternate bare and Keyhold so that a noisy neighbour on this shared machine weighs on
  // both; the ratio reported is the median of the rounds' ratios.
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const bare = summary(await run(baseline.url));
    const keyholdRun = summary(await run(`${K}/api/webhooks/shopify`));
    rounds.push({ bare, keyholdRun, ratio: keyholdRun.rps / bare.rps });
  }
  console.log(`# P4 inbound webhooks, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s (autocannon, loopback, ~2 KB bodies, 2 cores shared by all processes)`);
  for (const [i, { bare, keyholdRun, ratio }] of rounds.entries()) {
    console.log(`round ${i + 1}: bare Node HTTP + one INSERT ${fmt(bare.rps, 0).padStart(6)} req/s (p99 ${fmt(bare.p99, 1)} ms, errors ${bare.errors})   Keyhold verify+route+store ${fmt(keyholdRun.rps, 0).padStart(6)} req/s (p50 ${fmt(keyholdRun.p50, 1)} ms, p99 ${fmt(keyholdRun.p99, 1)} ms, errors ${keyholdRun.errors})   ratio ${fmt(ratio, 2)}`);
  }
  const medianRound = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(ROUNDS / 2)];
  const median = medianRound.ratio;
  console.log(`throughput ratio ${fmt(median, 2)} (median of ${ROUNDS}; goal >= 0.7)`);
  // For reading the ratio: the same app answering without any database work (a 401 refusal:
  // the HMAC is checked, no table is touched).
  const refused = summary(await run(`${K}/api/webhooks/shopify`, { requests: [{ method: 'POST', body: `${body} `, headers }] }));
  console.log(`Keyhold HTTP floor (401, HMAC checked, no database) ${fmt(refused.rps, 0)} req/s   p99 ${fmt(refused.p99, 1)} ms`);
  const paced = summary(await run(`${K}/api/webhooks/shopify`, { connections: 20, overallRate: 200, duration: SECONDS }));
  console.log(`Keyhold at a fixed 200 req/s  ${fmt(paced.rps, 0).padStart(7)} req/s   p50 ${fmt(paced.p50, 1)} ms   p99 ${fmt(paced.p99, 1)} ms (goal p99 < 50)   errors ${paced.errors}`);
  const errors = rounds.reduce((n, r) => n + r.keyholdRun.errors, paced.errors);
  await report('webhooks', [
    { measure: `P4 verified+routed+stored acks, ${CONNECTIONS} conns (median of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}) vs bare Node + INSERT`, unit: 'req/s', keyhold: medianRound.keyholdRun.rps, baseline: medianRound.bare.rps, goal: 0.7 },
    { measure: 'P4 ack p99 at a fixed 200 req/s', unit: 'ms', keyhold: paced.p99, goalAbsolute: 50, higherIsBetter: false },
    { measure: 'P4 failed or non-2xx webhook requests', unit: 'requests', keyhold: errors, goalAbsolute: 0, higherIsBetter: false },
    { measure: 'HTTP floor (401 after the HMAC check, no database)', unit: 'req/s', keyhold: refused.rps },
  ]);
} finally {
  await stopAll(procs.reverse());
  await rm(dir, { recursive: true, force: true });
}
