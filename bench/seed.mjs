// Bulk seeding for scale benchmarks: N tenants, each with a real data key (random, wrapped by the
// bench's master key exactly as the vault wraps it) and M connections whose secrets are real vault
// ciphertexts (AES-256-GCM under that tenant's key, bound to the row id). Rows go in with
// multi-row `INSERT … SELECT FROM unnest(…)`, batch by batch, as the tables' owner role: RLS,
// constraints and every index stay as they are; only the HTTP API and audit entries are skipped.
// What it writes reads back through the ordinary vault (`prepare`, `decrypt`) like any other row.
//
//   import { seedTenants } from './seed.mjs';
//   const seeded = await seedTenants({ adminUrl, masterKeys, tenants: 100_000, connectionsPerTenant: 10 });
//
// Run alone (a throw-away database; prints the rate): node bench/seed.mjs [tenants] [perTenant]
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;

// Random secret values drawn from a pooled buffer: one RNG call per 64 KiB, not per value.
let pool = Buffer.alloc(0);
let at = 0;
function randomToken(bytes = 18) {
  if (at + bytes > pool.length) {
    pool = randomBytes(65_536);
    at = 0;
  }
  at += bytes;
  return pool.toString('base64url', at - bytes, at);
}

/** The catalog's own view of a provider: the secret and config fields a seeded row fills in. */
async function defaultSpec(catalog, adapterFor, id) {
  const p = catalog.get(id);
  const routingField = p.oauth?.routingKeyField;
  const connectionWebhooks = adapterFor(p).webhooks?.level === 'connection';
  const secretNames = [...p.credentialFields.filter((f) => f.secret && f.required !== false).map((f) => f.name), ...(p.oauth ? ['accessToken', 'refreshToken'] : [])];
  const configFields = (p.configFields ?? []).filter((f) => f.required !== false || f.name === routingField);
  return {
    id,
    authMode: p.authMode,
    secrets: () => Object.fromEntries([...new Set(secretNames)].map((n) => [n, `seed_${randomToken()}`])),
    config: ({ tenantIndex, connectionIndex }) =>
      Object.fromEntries(configFields.map((f) => [f.name, f.name === routingField ? `seed-${tenantIndex}-${connectionIndex}` : (f.default ?? f.example ?? 'seed')])),
    routingKey: routingField ? ({ config }) => config[routingField] : () => null,
    endpointToken: connectionWebhooks ? () => randomToken(24) : () => null,
    // OAuth tokens expire later today (spread over hours), so nothing is due for refresh unless asked.
    tokenExpiresAt: p.oauth ? () => new Date(Date.now() + 3_600_000 + Math.floor(Math.random() * 20 * 3_600_000)) : () => null,
    tokenOrigin: p.oauth ? 'oauth' : 'tenant',
  };
}

/**
 * Seeds `tenants` tenants (slugs `<slugPrefix>-<i>`, status active) with `connectionsPerTenant`
 * connections each, cycling through `providers` (ids, or specs overriding any of `defaultSpec`'s
 * members: `{ id, secrets(ctx), config(ctx), routingKey(ctx), endpointToken(ctx), tokenExpiresAt(ctx) }`
 * with ctx `{ tenantIndex, connectionIndex, tenantId, connectionId, config }`). Each provider's
 * first connection in a tenant is labelled `default`, the others `c<i>` (i = its index in the tenant).
 * `masterKeys` is a KEYHOLD_MASTER_KEYS spec; its first key wraps the data keys.
 *
 * Returns counts, the time taken and `sample`: `sampleSize` tenants spread evenly over the range
 * (first and last included), each `{ index, id, slug, connections: [{ id, provider, label, routingKey }] }`.
 */
export async function seedTenants({
  adminUrl, masterKeys, tenants, connectionsPerTenant, providers = ['custom'], slugPrefix = 'seed',
  batchTenants = 500, concurrency = 2, sampleSize = 10, analyze = true, catalogOptions = {}, progress = () => undefined,
}) {
  const { parseMasterKeys, dekContextFor } = await import(dist('domains/vault/kek.js'));
  const { aadFor } = await import(dist('domains/vault/vault.service.js'));
  const { sealGcm } = await import(dist('platform/crypto/aes-gcm.js'));
  const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));
  const { adapterFor } = await import(dist('providers/registry.js'));
  const catalog = loadCatalog(catalogOptions);
  const kek = parseMasterKeys(masterKeys, 'seed')[0];
  const specs = await Promise.all(providers.map(async (p) => {
    const spec = typeof p === 'string' ? { id: p } : p;
    return { ...(await defaultSpec(catalog, adapterFor, spec.id)), ...spec };
  }));
  const sampleAt = new Set(Array.from({ length: Math.min(sampleSize, tenants) }, (_, k) => (sampleSize <= 1 ? 0 : Math.round((k * (tenants - 1)) / (Math.min(sampleSize, tenants) - 1)))));
  const sample = [];

  /** One batch of tenants as column arrays (the crypto happens here, in this process). */
  async function build(from, to) {
    const t = { id: [], slug: [], wrapped: [] };
    const c = { id: [], tenant: [], provider: [], label: [], authMode: [], secrets: [], config: [], routingKey: [], expires: [], endpointToken: [], origin: [] };
    for (let ti = from; ti < to; ti++) {
      const tenantId = randomUUID();
      const dek = randomBytes(32);
      t.id.push(tenantId);
      t.slug.push(`${slugPrefix}-${ti}`);
      t.wrapped.push(await kek.wrap(dek, dekContextFor(tenantId, 1)));
      const sampled = sampleAt.has(ti) ? { index: ti, id: tenantId, slug: `${slugPrefix}-${ti}`, connections: [] } : null;
      for (let ci = 0; ci < connectionsPerTenant; ci++) {
        const spec = specs[ci % specs.length];
        const connectionId = randomUUID();
        // A provider's first connection in a tenant is its `default` one (what an unlabelled read or proxy call uses).
        const label = ci < specs.length ? 'default' : `c${ci}`;
        const ctx = { tenantIndex: ti, connectionIndex: ci, tenantId, connectionId };
        ctx.config = spec.config(ctx);
        const secrets = JSON.stringify(spec.secrets(ctx));
        const sealed = sealGcm(dek, Buffer.from(secrets, 'utf8'), aadFor(tenantId, 'connection.secrets', connectionId, 1));
        const routingKey = spec.routingKey(ctx);
        c.id.push(connectionId);
        c.tenant.push(tenantId);
        c.provider.push(spec.id);
        c.label.push(label);
        c.authMode.push(spec.authMode);
        c.secrets.push(`kh1.1.${sealed.toString('base64url')}`);
        c.config.push(JSON.stringify(ctx.config));
        c.routingKey.push(routingKey);
        c.expires.push(spec.tokenExpiresAt(ctx)?.toISOString() ?? null);
        c.endpointToken.push(spec.endpointToken(ctx));
        c.origin.push(spec.tokenOrigin ?? 'tenant');
        sampled?.connections.push({ id: connectionId, provider: spec.id, label, routingKey });
      }
      dek.fill(0);
      if (sampled) sample.push(sampled);
    }
    return { t, c };
  }

  async function insert(client, { t, c }) {
    await client.query('begin');
    await client.query(
      `insert into tenants (id, slug, name, status, max_connections)
       select id, slug, 'Seeded ' || slug, 'active', $3 from unnest($1::uuid[], $2::text[]) as x(id, slug)`,
      [t.id, t.slug, Math.max(10, connectionsPerTenant)],
    );
    await client.query(
      'insert into tenant_keys (tenant_id, version, wrapped_dek, kek_id) select id, 1, w, $3 from unnest($1::uuid[], $2::text[]) as x(id, w)',
      [t.id, t.wrapped, kek.id],
    );
    if (c.id.length) {
      await client.query(
        `insert into connections (id, tenant_id, provider, label, auth_mode, secrets, config, routing_key, token_expires_at, endpoint_token, token_origin)
         select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::timestamptz[], $10::text[], $11::text[])`,
        [c.id, c.tenant, c.provider, c.label, c.authMode, c.secrets, c.config, c.routingKey, c.expires, c.endpointToken, c.origin],
      );
    }
    await client.query('commit');
  }

  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      // The tables' owner, not the superuser: RLS is forced on them and admits it by its
      // maintenance policy, as for migrations.
      await client.query('set role keyhold_owner');
      while (next < tenants) {
        const from = next;
        const to = Math.min(tenants, from + batchTenants);
        next = to;
        await insert(client, await build(from, to));
        done += to - from;
        progress({ tenants: done, seconds: (performance.now() - t0) / 1000 });
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const insertSeconds = (performance.now() - t0) / 1000;
  if (analyze) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query('analyze tenants, tenant_keys, connections').finally(() => client.end());
  }
  sample.sort((a, b) => a.index - b.index);
  return { tenants, connections: tenants * connectionsPerTenant, seconds: (performance.now() - t0) / 1000, insertSeconds, sample };
}

// Alone: seed a throw-away embedded Postgres and print how long it took.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { chmod, mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { freePort, fmt } = await import('./lib.mjs');
  const { loadConfig } = await import(dist('platform/config.js'));
  const { createLogger } = await import(dist('platform/logger.js'));
  const { openDatabaseEndpoint } = await import(dist('platform/db/database.js'));
  const { migrate } = await import(dist('platform/db/migrate.js'));
  const tenants = Number(process.argv[2] ?? process.env.BENCH_SCALE_TENANTS ?? 10_000);
  const perTenant = Number(process.argv[3] ?? process.env.BENCH_SCALE_CONNECTIONS_PER_TENANT ?? 10);
  const log = createLogger({ level: 'warn' });
  const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-bench-seed-'));
  await chmod(dir, 0o755);
  const masterKeys = `bench-1:${randomBytes(32).toString('base64')}`;
  const config = loadConfig({ NODE_ENV: 'development', KEYHOLD_DATA_DIR: dir, KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_MASTER_KEYS: masterKeys });
  const endpoint = await openDatabaseEndpoint(config.database, log);
  try {
    await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
    let last = 0;
    const r = await seedTenants({
      adminUrl: endpoint.adminUrl, masterKeys, tenants, connectionsPerTenant: perTenant, providers: ['custom', 'shopify', 'stripe', 'xero'],
      progress: ({ tenants: n, seconds }) => { if (seconds - last >= 5) { last = seconds; console.log(`  ${n} tenants after ${fmt(seconds)} s`); } },
    });
    console.log(`seeded ${r.tenants} tenants / ${r.connections} connections in ${fmt(r.seconds)} s (inserts ${fmt(r.insertSeconds)} s): ${fmt(r.connections / r.insertSeconds, 0)} connections/s`);
  } finally {
    await endpoint.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
