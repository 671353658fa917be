// Outbound webhooks: deliveries/s from Keyhold's sender (take due rows in the tenant's transaction,
// sign per Standard Webhooks, POST through the SSRF-guarded keep-alive client, record the attempt)
// to a local receiver, vs a bare undici POST loop of the same bodies to the same receiver at the
// same concurrency. The receiver runs in its own process; Keyhold's services run in this one on an
// embedded Postgres, without HTTP server or job runner (only the sender is measured).
// Run: npm run bench:deliveries   (builds first)   BENCH_DELIVERIES=5000 BENCH_CONCURRENCY=16
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { fmt, report, servicesForBench, stopAll } from './lib.mjs';

const N = Number(process.env.BENCH_DELIVERIES ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const here = (p) => new URL(p, import.meta.url).pathname;

const receiver = spawn(process.execPath, [here('./receiver.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const receiverUrl = await new Promise((resolve) => receiver.stdout.once('data', (d) => resolve(String(d).trim())));
const received = async () => Number(await (await fetch(`${receiverUrl}/count`)).text());

let bench;
try {
  bench = await servicesForBench({ name: 'deliveries' });
  const { services, principal, tenant } = bench;
  await services.webhookEndpoints.create(principal, { url: `${receiverUrl}/in`, description: 'bench', eventTypes: ['*'], enabled: true, signatureScheme: 'v1' });

  // N outbox events (about 300 bytes each once wrapped), written straight to the table.
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: bench.adminUrl });
  await admin.connect();
  const subject = JSON.stringify({ connectionId: randomUUID(), provider: 'stripe', label: 'default' });
  const payload = JSON.stringify({ from: 'active', to: 'needs_reauth', source: 'refresh', error: 'invalid_grant' });
  await admin.query(
    `insert into events (id, tenant_id, type, subject, payload, created_at)
     select gen_random_uuid(), $1, 'connection.needs_reauth', $2::jsonb, $3::jsonb, now() from generate_series(1, $4)`,
    [tenant.id, subject, payload, N]);
  await admin.end();

  let t0 = performance.now();
  while ((await services.events.drain({ batch: 1000 })).dispatched > 0);
  const drainMs = performance.now() - t0;

  // The same bodies, the same receiver, the same concurrency, a bare keep-alive undici loop.
  const body = JSON.stringify({ type: 'connection.needs_reauth', timestamp: new Date().toISOString(), data: { eventId: randomUUID(), subject: JSON.parse(subject), payload: JSON.parse(payload) } });
  const bareLoop = async (n) => {
    const dispatcher = new Agent({ connections: CONCURRENCY });
    let left = n;
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const res = await request(`${receiverUrl}/in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher });
        await res.body.dump();
      }
    }));
    const ms = performance.now() - started;
    await dispatcher.close();
    return ms;
  };
  await bareLoop(1000); // warms the receiver (and this process) for both runs
  const warm = await received();

  // Keyhold's backlog of N deliveries, sent as a whole.
  t0 = performance.now();
  let stats = { attempts: 0 };
  while ((await received()) - warm < N) {
    const s = await services.webhookDeliveries.sendDue({ concurrency: CONCURRENCY });
    stats = { attempts: stats.attempts + s.attempts };
    if (s.attempts === 0) break;
  }
  const keyholdMs = performance.now() - t0;
  const keyholdGot = (await received()) - warm;
  const bareMs = await bareLoop(N);

  const keyholdRate = (keyholdGot / keyholdMs) * 1000;
  const bareRate = (N / bareMs) * 1000;
  console.log(`# Outbound webhook deliveries, ${N} events, concurrency ${CONCURRENCY} (loopback receiver in its own process, 2 cores shared by all)`);
  console.log(`outbox drain into delivery rows      ${fmt((N / drainMs) * 1000, 0).padStart(7)} rows/s`);
  console.log(`bare undici POST loop                 ${fmt(bareRate, 0).padStart(7)} deliveries/s`);
  console.log(`Keyhold sender (take, sign, POST, record) ${fmt(keyholdRate, 0).padStart(7)} deliveries/s   (${keyholdGot} received, ${stats.attempts} attempts)`);
  console.log(`throughput ratio ${fmt(keyholdRate / bareRate, 2)}`);
  // Issue 15 asked for the figure, not a bound: informational, except that every event arrives.
  await report('deliveries', [
    { measure: `outbound deliveries, ${N} events, concurrency ${CONCURRENCY} vs bare undici POST loop`, unit: 'deliveries/s', keyhold: keyholdRate, baseline: bareRate },
    { measure: 'outbox drain into delivery rows', unit: 'rows/s', keyhold: (N / drainMs) * 1000 },
    { measure: 'events received by the receiver', unit: 'events', keyhold: keyholdGot, goalAbsolute: N },
  ]);
} finally {
  await bench?.stop();
  await stopAll([receiver]);
}
