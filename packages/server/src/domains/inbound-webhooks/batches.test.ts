import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { bearer, signup } from '../../test-support/accounts.js';
import { type TestApp, adminClient, useTestApp } from '../../test-support/index.js';
import type { InboundWebhook, WebhookHooks } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import { createInboundWebhooksRepo } from './inbound-webhooks.repo.js';
import { createInboundWebhooksService } from './inbound-webhooks.service.js';

/**
 * Batched deliveries (one request, events of several accounts), with an adapter of the test's own
 * standing in for Shopify's: each event is stored under the tenant owning its account, unknown ones
 * quarantined, all committed before the answer; bursts of deliveries store each event exactly once.
 */
let t: TestApp;
useTestApp((x) => (t = x));

const batchHooks: WebhookHooks = {
  scheme: 'shopify_hmac_base64',
  level: 'app',
  verify: (req, secrets) => (req.headers['x-test-signed'] === 'yes' || (req.headers['x-tenant-chosen'] !== undefined && req.headers['x-tenant-chosen'] === secrets[0]) ? { ok: true } : { ok: false, reason: 'bad_signature' }),
  events: (req: InboundWebhook) =>
    (JSON.parse(req.raw.toString()) as Array<{ shop: string; id: string }>).map((e) => ({ externalId: e.id, topic: 'orders/create', routingKey: e.shop, payload: e })),
};

function service(hooks: WebhookHooks = batchHooks) {
  return createInboundWebhooksService({
    repo: createInboundWebhooksRepo(t.db.kysely),
    tenancy: t.db,
    catalog: t.services.catalog,
    store: t.services.store,
    outbox: { appendMany: async () => [] },
    apps: { secrets: () => ['shared-value-the-tenant-chose'], verifyToken: () => undefined },
    metrics: t.services.metrics,
    clock: t.clock,
    publicUrl: 'http://keyhold.test',
    adapterFor: (p) => (p.id === 'shopify' ? { id: 'shopify', webhooks: hooks } : adapterFor(p)),
  });
}
const shop = () => `batch-${randomBytes(4).toString('hex')}.myshopify.com`;
async function connect(token: string, storeDomain: string, label?: string) {
  const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(token), payload: { serviceName: 'shopify', apiKey: 'shpat_b', additionalConfig: { storeDomain }, ...(label ? { label } : {}) } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.id as string;
}
const externalIds = (tenantId: string) =>
  t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select('external_id').orderBy('external_id').execute()).then((r) => r.map((x) => x.external_id));
const post = (events: Array<{ shop: string; id: string }>) =>
  service().receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify(events)), headers: { 'x-test-signed': 'yes' }, query: {} });

describe('batched deliveries', () => {
  it('one delivery for two tenants and an unknown account: each part under its own tenant, the rest quarantined', async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const [shopA, shopB, nobody] = [shop(), shop(), shop()];
    await connect(a.accessToken, shopA);
    await connect(b.accessToken, shopB);
    const reply = await post([{ shop: shopA, id: 'a1' }, { shop: shopB, id: 'b1' }, { shop: shopA, id: 'a2' }, { shop: nobody, id: 'n1' }]);
    expect(reply.status).toBe(200);
    expect(await externalIds(a.tenantId)).toEqual(['a1', 'a2']);
    expect(await externalIds(b.tenantId)).toEqual(['b1']);
    // The whole batch is nobody's alone: no row keeps it (each keeps only its own payload).
    const raws = (tenantId: string) => t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['raw_body', 'payload']).orderBy('external_id').execute());
    expect((await raws(b.tenantId)).map((r) => [r.raw_body, r.payload])).toEqual([[null, { shop: shopB, id: 'b1' }]]);
    expect((await raws(a.tenantId)).every((r) => r.raw_body === null)).toBe(true);
    const admin = await adminClient();
    try {
      expect((await admin.query('select external_id, raw_body from inbound_quarantine where routing_key = $1', [nobody])).rows).toEqual([{ external_id: 'n1', raw_body: null }]);
    } finally {
      await admin.end();
    }
    // A delivery wholly for one tenant keeps its raw bytes.
    await post([{ shop: shopA, id: 'a3' }]);
    expect((await raws(a.tenantId)).find((r) => (r.payload as { id: string }).id === 'a3')?.raw_body).toBeInstanceOf(Buffer);
  });

  it('change notices stored together make one connection.changed per connection (saying how many), and a webhook.received each', async () => {
    const a = await signup(t.app);
    const [s1, s2] = [shop(), shop()];
    const [c1, c2] = [await connect(a.accessToken, s1), await connect(a.accessToken, s2, 'second')];
    const notices: WebhookHooks = { ...batchHooks, events: (req) => batchHooks.events(req).map((e) => ({ ...e, effect: 'changed' as const })) };
    const events = [{ shop: s1, id: 'n1' }, { shop: s2, id: 'n2' }, { shop: s1, id: 'n3' }, { shop: s1, id: 'n4' }, { shop: s2, id: 'n5' }];
    const reply = await service(notices).receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify(events)), headers: { 'x-test-signed': 'yes' }, query: {} });
    expect(reply.status).toBe(200);
    const rows = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select(['type', 'subject', 'payload']).where('tenant_id', '=', a.tenantId).orderBy('id').execute());
    expect(rows.filter((r) => r.type === 'webhook.received')).toHaveLength(5);
    const changed = rows.filter((r) => r.type === 'connection.changed').map((r) => [(r.subject as { connectionId: string }).connectionId, (r.payload as { notices: number }).notices]);
    expect(changed.sort()).toEqual([[c1, 3], [c2, 2]].sort());
  });

  it('a batch where one remembered route went stale: the part resent to the new owner keeps no raw body (it holds the others\' events)', async () => {
    const [a, b, c] = [await signup(t.app), await signup(t.app), await signup(t.app)];
    const [shopX, shopY] = [shop(), shop()];
    await connect(a.accessToken, shopX);
    const bConn = await connect(b.accessToken, shopY);
    const s = service();
    const send = (events: Array<{ shop: string; id: string }>) => s.receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify(events)), headers: { 'x-test-signed': 'yes' }, query: {} });
    await send([{ shop: shopX, id: 'x1' }, { shop: shopY, id: 'y1' }]); // this service now remembers both routes
    const admin = await adminClient();
    try {
      await admin.query('update connections set routing_key = null where id = $1', [bConn]); // Y leaves B ...
    } finally {
      await admin.end();
    }
    await connect(c.accessToken, shopY); // ... and C connects it
    expect((await send([{ shop: shopX, id: 'x2-private-to-a' }, { shop: shopY, id: 'y2' }])).status).toBe(200);
    const rows = (tenantId: string) => t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['external_id', 'raw_body']).orderBy('external_id').execute());
    expect((await rows(c.tenantId)).map((r) => [r.external_id, r.raw_body])).toEqual([['y2', null]]);
    expect((await rows(b.tenantId)).map((r) => r.external_id)).toEqual(['y1']);
    expect((await rows(a.tenantId)).map((r) => [r.external_id, r.raw_body === null])).toEqual([['x1', true], ['x2-private-to-a', true]]);
  });

  it('100 deliveries at once, each event sent twice, across two tenants: every event stored exactly once', async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const [shopA, shopB] = [shop(), shop()];
    await connect(a.accessToken, shopA);
    await connect(b.accessToken, shopB);
    const events = Array.from({ length: 50 }, (_, i) => [{ shop: shopA, id: `a${String(i).padStart(2, '0')}` }, { shop: shopB, id: `b${String(i).padStart(2, '0')}` }]);
    const replies = await Promise.all([...events, ...events].map((batch) => post(batch)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await externalIds(a.tenantId)).toEqual(events.map((e) => e[0]!.id));
    expect(await externalIds(b.tenantId)).toEqual(events.map((e) => e[1]!.id));
  });

  it('an unsigned batch stores nothing anywhere', async () => {
    const a = await signup(t.app);
    const shopA = shop();
    await connect(a.accessToken, shopA);
    await expect(service().receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify([{ shop: shopA, id: 'x' }])), headers: {}, query: {} }))
      .rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
    expect(await externalIds(a.tenantId)).toEqual([]);
  });
});

describe('stored headers', () => {
  it('a header carrying the secret is never stored, whatever its name', async () => {
    const a = await signup(t.app);
    const shopA = shop();
    await connect(a.accessToken, shopA);
    await service().receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify([{ shop: shopA, id: 'h1' }])), headers: { 'x-tenant-chosen': 'shared-value-the-tenant-chose', 'x-request-id': 'r1' }, query: {} });
    const [row] = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select('headers').execute());
    expect(row!.headers).toEqual({ 'x-request-id': 'r1' });
  });
});

describe('the batched store (keyhold_store_inbound_events)', () => {
  const repo = () => createInboundWebhooksRepo(t.db.kysely);
  const row = (tenantId: string, connectionId: string, routingKey: string | null) => ({
    id: crypto.randomUUID(), tenant_id: tenantId, connection_id: connectionId, provider: 'shopify', topic: 't', external_id: crypto.randomUUID(),
    payload: { a: 1 }, raw_body: null, headers: {}, received_at: new Date(), effect: null, routing_key: routingKey,
  });

  it("a row naming another tenant's connection is not written, and no tenant context outlives the call", async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const [shopA, shopB] = [shop(), shop()];
    const connA = await connect(a.accessToken, shopA);
    await connect(b.accessToken, shopB);
    // Tenant B claiming A's connection and store; A's own row in the same call goes through.
    const out = await repo().storeEvents([row(b.tenantId, connA, shopA), row(a.tenantId, connA, shopA), row(a.tenantId, connA, shopB)]);
    expect(out.map((r) => [r.owned, r.stored])).toEqual([[false, false], [true, true], [false, false]]);
    expect(await externalIds(b.tenantId)).toEqual([]);
    expect(await externalIds(a.tenantId)).toHaveLength(1);
    const left = await t.db.kysely.transaction().execute(async (tx) => {
      await sql`select * from keyhold_store_inbound_events(${JSON.stringify([row(a.tenantId, connA, shopA)])}::jsonb, ${Buffer.alloc(0)}::bytea)`.execute(tx);
      return (await sql<{ v: string | null }>`select current_setting('app.tenant_id', true) as v`.execute(tx)).rows[0]!.v;
    });
    expect(left ?? '').toBe('');
  });

  it('raw bodies of one call (any bytes, shared, absent, empty) are each stored exactly as given', async () => {
    const a = await signup(t.app);
    const shopA = shop();
    const connA = await connect(a.accessToken, shopA);
    const binary = Buffer.from([0, 255, 254, 0x5c, 0x27, 0x22, 10, 0, 1]);
    const shared = Buffer.from('{"one":"delivery","cut":"into two rows"}');
    const rows = [
      { ...row(a.tenantId, connA, shopA), raw_body: binary },
      { ...row(a.tenantId, connA, shopA), raw_body: shared },
      { ...row(a.tenantId, connA, shopA), raw_body: null },
      { ...row(a.tenantId, connA, shopA), raw_body: shared },
      { ...row(a.tenantId, connA, shopA), raw_body: Buffer.alloc(0) },
      { ...row(a.tenantId, connA, shopA), raw_body: Buffer.from('last') },
    ];
    expect((await repo().storeEvents(rows)).every((r) => r.stored)).toBe(true);
    const stored = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select(['external_id', 'raw_body']).execute());
    const byId = new Map(stored.map((r) => [r.external_id, r.raw_body]));
    expect(rows.map((r) => byId.get(r.external_id))).toEqual([binary, shared, null, shared, Buffer.alloc(0), Buffer.from('last')]);
  });

  it("the previous version's call (bodies base64 inside the JSON) still stores, for nodes not yet upgraded", async () => {
    const a = await signup(t.app);
    const shopA = shop();
    const connA = await connect(a.accessToken, shopA);
    const [first, second] = [Buffer.from([0, 1, 2, 255]), Buffer.from('{"second":true}')];
    const rows = [{ ...row(a.tenantId, connA, shopA), raw_body: first.toString('base64') }, { ...row(a.tenantId, connA, shopA), raw_body: null }, { ...row(a.tenantId, connA, shopA), raw_body: second.toString('base64') }];
    const out = await sql<{ stored: boolean }>`select * from keyhold_store_inbound_events(${JSON.stringify(rows)}::jsonb)`.execute(t.db.kysely);
    expect(out.rows.map((r) => r.stored)).toEqual([true, true, true]);
    const stored = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select(['external_id', 'raw_body']).execute());
    const byId = new Map(stored.map((r) => [r.external_id, r.raw_body]));
    expect(rows.map((r) => byId.get(r.external_id))).toEqual([first, null, second]);
  });

  it('many concurrent deliveries of several tenants are all stored under their owners, each once', async () => {
    const accts = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
    const shops = accts.map(() => shop());
    await Promise.all(accts.map((x, i) => connect(x.accessToken, shops[i]!)));
    const s = service();
    const sends = Array.from({ length: 90 }, (_, i) => ({ shop: shops[i % 3]!, id: `c-${i % 30}` })); // each event three times
    const replies = await Promise.all(sends.map((e) => s.receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(JSON.stringify([e])), headers: { 'x-test-signed': 'yes' }, query: {} })));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    for (const [i, x] of accts.entries()) {
      expect((await externalIds(x.tenantId)).sort()).toEqual(Array.from({ length: 30 }, (_, k) => `c-${k}`).filter((_, k) => k % 3 === i).sort());
    }
  });

  it('quotes and odd characters in ids, topics and bodies are stored as sent', async () => {
    const a = await signup(t.app);
    const shopA = shop();
    await connect(a.accessToken, shopA);
    await post([{ shop: shopA, id: "it's');drop\\table--" }]);
    expect(await externalIds(a.tenantId)).toEqual(["it's');drop\\table--"]);
  });

  it('a signed body with text jsonb cannot hold (NUL, a lone surrogate) is stored, not refused with a 500 on every redelivery', async () => {
    const a = await signup(t.app);
    const shopA = shop();
    await connect(a.accessToken, shopA);
    const reply = await service().receive({ provider: 'shopify', method: 'POST', raw: Buffer.from(`[{"shop":"${shopA}","id":"nul-1","note":"a\\u0000b \\ud800 c"}]`), headers: { 'x-test-signed': 'yes' }, query: {} });
    expect(reply.status).toBe(200);
    const rows = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select(['payload', 'raw_body']).where('external_id', '=', 'nul-1').execute());
    expect((rows[0]!.payload as { note: string }).note).toBe('a\ufffdb \ufffd c');
    expect(rows[0]!.raw_body!.toString()).toContain('a\\u0000b');
  });
});
