// The baseline for bench/webhooks: a bare Node HTTP server that stores each request's raw body
// with one INSERT and answers 200 — no verification, routing, tenancy or metrics.
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined); // the database stops first when the benchmark ends
await pool.query('create table if not exists bench_raw_webhooks (id bigserial primary key, body bytea not null, received_at timestamptz not null default now())');
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      await pool.query('insert into bench_raw_webhooks (body) values ($1)', [Buffer.concat(chunks)]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true}');
    } catch {
      res.writeHead(500);
      res.end();
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
