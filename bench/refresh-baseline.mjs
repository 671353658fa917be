// The fair baseline of bench/refresh.mjs: a bare script doing the same physical work as one
// Keyhold refresh worker — read due tokens a page at a time, send refresh grants to the same token
// endpoint with the same concurrency, write the answers with the same number of UPDATE statements
// (one multi-row UPDATE per `width` answers) — but with no leases, no tenant transactions and no
// encryption. Input: one JSON argument; output: one JSON line of figures on stdout.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Agent, request } from 'undici';

const input = JSON.parse(process.argv[2]);
const pool = new pg.Pool({ connectionString: input.url, max: input.poolMax ?? 8 });
pool.on('error', () => undefined);
const agent = new Agent({ connections: input.concurrency });
const basic = `Basic ${Buffer.from(`${input.clientId}:${input.clientSecret}`).toString('base64')}`;
const tokenUrl = `${input.sandboxUrl}/xero/connect/token`;

const started = performance.now();
const cpuAtStart = process.cpuUsage();
const queue = [];
let lastExpiry = null;
let lastId = null;
let exhausted = false;
let reading = null;
let pending = [];
const writes = [];
let refreshed = 0;
let failed = 0;

/**
 * The next page of this part's tokens due within the margin, in expiry order (what the claim query
 * does); the expiry as text keeps its microseconds for the keyset.
 */
async function readPage() {
  const { rows } = await pool.query(
    `select id, refresh_token, expires_at::text as expires_at from bench_baseline_tokens
      where part = $1 and expires_at < now() + interval '300 seconds' and ($2::timestamptz is null or (expires_at, id) > ($2, $3::uuid))
      order by expires_at, id limit $4`,
    [input.part, lastExpiry, lastId, input.batch],
  );
  if (rows.length < input.batch) exhausted = true;
  if (rows.length) ({ expires_at: lastExpiry, id: lastId } = rows.at(-1));
  queue.push(...rows);
}

function flush() {
  if (pending.length === 0) return;
  const items = pending;
  pending = [];
  writes.push(pool.query(
    `update bench_baseline_tokens t set secrets = u.secrets, expires_at = u.expires_at, version = t.version + 1, refreshed_at = now()
       from unnest($1::uuid[], $2::text[], $3::timestamptz[]) as u(id, secrets, expires_at) where t.id = u.id`,
    [items.map((i) => i.id), items.map((i) => i.secrets), items.map((i) => i.expiresAt)],
  ));
}

/** Reads ahead while the slots work, so no slot waits on the database for its next token. */
const refill = () => {
  if (!exhausted && !reading) reading = readPage().finally(() => (reading = null));
  return reading;
};

async function next() {
  if (queue.length < input.concurrency) refill();
  while (queue.length === 0 && !exhausted) await refill();
  return queue.shift();
}

async function slot() {
  for (let item = await next(); item; item = await next()) {
    const res = await request(tokenUrl, {
      method: 'POST', dispatcher: agent,
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(item.refresh_token)}`,
    });
    const body = await res.body.json();
    if (res.statusCode !== 200) {
      failed++;
      continue;
    }
    refreshed++;
    pending.push({
      id: item.id,
      secrets: JSON.stringify({ accessToken: body.access_token, refreshToken: body.refresh_token }),
      expiresAt: new Date(Date.now() + body.expires_in * 1000),
    });
    if (pending.length >= input.width) flush();
  }
}

try {
  await Promise.all(Array.from({ length: input.concurrency }, slot));
  flush();
  await Promise.all(writes);
} finally {
  await agent.close();
  await pool.end();
}
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(`${JSON.stringify({ refreshed, failed, ms: Math.round(performance.now() - started), cpuMs: Math.round((cpu.user + cpu.system) / 1000) })}\n`);
