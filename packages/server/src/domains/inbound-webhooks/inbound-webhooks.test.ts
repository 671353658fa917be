import { randomBytes } from 'node:crypto';
import { shopifyWebhookDelivery, stripeWebhookDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { type Account, STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';
import { systemActor } from '../../platform/context.js';
import { type TestApp, adminClient, testApp, useTestApp } from '../../test-support/index.js';
import { Secret } from '../../platform/crypto/secret.js';
import { shopifyEventId } from '../../providers/shopify/webhooks.js';
import { payloadOf } from './inbound-webhooks.repo.js';

/**
 * Inbound webhooks end to end over HTTP and the real database: verified on the raw bytes, stored
 * under the tenant owning the account before the 2xx, once per event, never readable by another
 * tenant; unknown accounts go to the quarantine; processing acts on the connection.
 */
const SHOPIFY_SECRET = `shpss_${randomBytes(16).toString('hex')}`;
let t: TestApp;
useTestApp((x) => (t = x), { oauthApps: { shopify: { clientId: 'keyhold-test-app', clientSecret: new Secret(SHOPIFY_SECRET) } } });

const shop = () => `store-${randomBytes(4).toString('hex')}.myshopify.com`;
type Delivery = { headers: Record<string, string>; body: Buffer };
const deliver = (app: TestApp['app'], url: string, d: Delivery) => app.inject({ method: 'POST', url, headers: d.headers, payload: d.body });

async function connectShop(acct: Account, storeDomain = shop()) {
  const res = await t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'shopify', apiKey: `shpat_${randomBytes(16).toString('hex')}`, additionalConfig: { storeDomain } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().data.id as string, storeDomain };
}
async function connectStripe(acct: Account, webhookSecret?: string) {
  const res = await t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: 'stripe', apiKey: `sk_test_${randomBytes(12).toString('hex')}`, ...(webhookSecret ? { apiSecret: webhookSecret } : {}), label: `l${randomBytes(3).toString('hex')}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data as { id: string; webhook_url?: string };
}
const rowsOf = (tenantId: string) => t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').selectAll().orderBy('received_at').execute());
const shopifyOrder = (storeDomain: string, over: Partial<Parameters<typeof shopifyWebhookDelivery>[0]> = {}) =>
  shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop: storeDomain, topic: 'orders/create', body: { id: 4711, name: '#1001' }, ...over });
/** The id Keyhold keys a Shopify delivery by (its signed body with the topic; the id headers are unsigned). */
const idOf = (d: Delivery) => shopifyEventId(d.headers['x-shopify-topic']!, d.body);
/** A stored event put back in the processing queue (a tenant's replay), as one the processing job has yet to act on. */
async function requeued(acct: Account, d: Delivery) {
  expect((await deliver(t.app, '/api/webhooks/shopify', d)).statusCode).toBe(200);
  const row = (await rowsOf(acct.tenantId)).find((r) => r.external_id === idOf(d))!;
  const res = await t.app.inject({ method: 'POST', url: `/api/webhooks/inbound/${row.id}/replay`, headers: bearer(acct.accessToken) });
  expect([res.statusCode, res.json().data.status]).toEqual([200, 'received']);
  return row;
}
const metric = async (provider: string, outcome: string) =>
  (await t.services.metrics.registry.getSingleMetric('keyhold_webhooks_total')!.get()).values.find((v) => v.labels.provider === provider && v.labels.outcome === outcome)?.value ?? 0;

describe('app-level webhooks (Shopify)', () => {
  it('a signed delivery is stored under the tenant owning the store, and nowhere else, before the 200', async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const conn = await connectShop(a);
    await connectShop(b);
    const before = await metric('shopify', 'verified');
    const sent = shopifyOrder(conn.storeDomain.toUpperCase(), { eventId: 'evt-a-1' });
    const res = await deliver(t.app, '/api/webhooks/shopify', sent);
    expect(res.statusCode, res.body).toBe(200);
    // No body and no cookie on the ack: some providers (Xero) accept no other answer.
    expect([res.body, res.headers['set-cookie']]).toEqual(['', undefined]);
    const rows = await rowsOf(a.tenantId);
    expect(rows.map((r) => [r.connection_id, r.provider, r.topic, r.external_id, r.status, r.effect])).toEqual([[conn.id, 'shopify', 'orders/create', idOf(sent), 'processed', 'changed']]);
    // A change notice needs no application code: processed as it was stored, its outbox events with it.
    const events = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', 'in', ['webhook.received', 'connection.changed']).orderBy('id').execute());
    expect(events.map((e) => [e.type, (e.payload as { inboundEventId?: string }).inboundEventId])).toEqual([['webhook.received', rows[0]!.id], ['connection.changed', rows[0]!.id]]);
    // Only the change notice waits for the drain (syncs act on it); the tenant has no endpoint taking webhook.received.
    const queued = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('event_queue').innerJoin('events', (j) => j.onRef('events.tenant_id', '=', 'event_queue.tenant_id').onRef('events.id', '=', 'event_queue.id'))
      .select('events.type').where('event_queue.tenant_id', '=', a.tenantId).where('events.type', 'in', ['webhook.received', 'connection.changed']).execute());
    expect(queued.map((q) => q.type)).toEqual(['connection.changed']);
    // The payload is the body itself: kept once, as the raw bytes.
    expect([rows[0]!.payload, payloadOf(rows[0])]).toEqual([null, { id: 4711, name: '#1001' }]);
    expect(Buffer.from(rows[0]!.raw_body!).toString()).toBe(JSON.stringify({ id: 4711, name: '#1001' }));
    expect(Object.keys(rows[0]!.headers)).not.toContain('x-shopify-hmac-sha256');
    expect(await rowsOf(b.tenantId)).toEqual([]);
    expect(await metric('shopify', 'verified')).toBe(before + 1);
  });

  it('tampered body, wrong secret, missing signature: 401 with a stable code, nothing stored', async () => {
    const a = await signup(t.app);
    const { storeDomain } = await connectShop(a);
    const good = shopifyOrder(storeDomain);
    const cases: Delivery[] = [
      { headers: good.headers, body: Buffer.from(good.body.toString().replace('4711', '4712')) },
      shopifyWebhookDelivery({ secret: 'not-the-app-secret', shop: storeDomain, topic: 'orders/create', body: { id: 1 } }),
      { headers: Object.fromEntries(Object.entries(good.headers).filter(([k]) => k !== 'x-shopify-hmac-sha256')), body: good.body },
    ];
    for (const d of cases) {
      const res = await deliver(t.app, '/api/webhooks/shopify', d);
      expect([res.statusCode, res.json().code]).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
    }
    expect(await rowsOf(a.tenantId)).toEqual([]);
    expect(t.logs.text()).not.toContain(SHOPIFY_SECRET);
  });

  it('with no secret configured every delivery is refused (never accepted unsigned)', async () => {
    const bare = await testApp();
    try {
      const res = await deliver(bare.app, '/api/webhooks/shopify', shopifyOrder(shop()));
      expect([res.statusCode, res.json().code]).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
      expect(res.json().error).toContain('no_secret');
    } finally {
      await bare.close();
    }
  });

  it('a rotated secret (KEYHOLD_WEBHOOK_SHOPIFY_SECRETS=new,old) accepts both', async () => {
    const rotated = await testApp({ webhooks: { secrets: { shopify: [new Secret('new-secret'), new Secret(SHOPIFY_SECRET)] }, verifyTokens: {}, rawRetentionDays: 30, retentionDays: 90 } });
    try {
      const acct = await signup(rotated.app);
      const res = await rotated.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: 'shpat_x1', additionalConfig: { storeDomain: shop() } } });
      const storeDomain = res.json().data.config.storeDomain as string;
      for (const secret of ['new-secret', SHOPIFY_SECRET]) {
        expect((await deliver(rotated.app, '/api/webhooks/shopify', shopifyWebhookDelivery({ secret, shop: storeDomain, topic: 'products/update', body: {} }))).statusCode).toBe(200);
      }
    } finally {
      await rotated.close();
    }
  });

  it('redeliveries of one event, even 20 at once, are one row; each answers 200', async () => {
    const a = await signup(t.app);
    const { storeDomain } = await connectShop(a);
    const d = shopifyOrder(storeDomain, { eventId: 'evt-redelivered' });
    const before = await metric('shopify', 'duplicate');
    const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(t.app, '/api/webhooks/shopify', d)));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect((await rowsOf(a.tenantId)).length).toBe(1);
    expect(await metric('shopify', 'duplicate')).toBe(before + 19);
  });

  it('a store nobody connected goes to the quarantine, not to a tenant', async () => {
    const unknown = shop();
    const sent = shopifyOrder(unknown, { body: { id: 4711, shop: unknown } });
    const res = await deliver(t.app, '/api/webhooks/shopify', sent);
    expect(res.statusCode).toBe(200);
    const admin = await adminClient();
    try {
      const { rows } = await admin.query('select provider, topic, external_id from inbound_quarantine where routing_key = $1', [unknown]);
      expect(rows).toEqual([{ provider: 'shopify', topic: 'orders/create', external_id: idOf(sent) }]);
      const leaked = await admin.query('select count(*)::int as n from inbound_events where external_id = $1', [idOf(sent)]);
      expect(leaked.rows[0].n).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('a store that leaves a tenant is followed at once, although this node remembered its route', async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const conn = await connectShop(a);
    const { storeDomain } = conn;
    expect((await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(storeDomain, { body: { id: 1, name: 'before' } }))).statusCode).toBe(200);
    // A uninstalls (the connection gives the store up); B connects the same store.
    await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(storeDomain, { topic: 'app/uninstalled', body: { myshopify_domain: storeDomain, name: 'gone' } }));
    const nameOf = (r: Parameters<typeof payloadOf>[0]) => (payloadOf(r) as { name: string }).name;
    const gone = (await rowsOf(a.tenantId)).find((r) => nameOf(r) === 'gone')!;
    await t.services.inboundWebhooks.process(a.tenantId, gone.id);
    // Nobody holds it now: quarantined, not stored under A.
    expect((await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(storeDomain, { body: { id: 2, name: 'between' } }))).statusCode).toBe(200);
    const bConn = await connectShop(b, storeDomain);
    expect((await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(storeDomain, { body: { id: 3, name: 'after' } }))).statusCode).toBe(200);
    expect((await rowsOf(a.tenantId)).map(nameOf).sort()).toEqual(['before', 'gone']);
    expect((await rowsOf(b.tenantId)).map((r) => [nameOf(r), r.connection_id])).toEqual([['after', bConn.id]]);
    const admin = await adminClient();
    try {
      expect((await admin.query("select payload->>'name' as name from inbound_quarantine where routing_key = $1", [storeDomain])).rows).toEqual([{ name: 'between' }]);
    } finally {
      await admin.end();
    }
  });

  it('app/uninstalled disconnects the connection when processed; a change notice becomes connection.changed', async () => {
    const a = await signup(t.app);
    const conn = await connectShop(a);
    await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(conn.storeDomain, { topic: 'products/update', eventId: 'chg-1' }));
    await deliver(t.app, '/api/webhooks/shopify', shopifyOrder(conn.storeDomain, { topic: 'app/uninstalled', eventId: 'uninst-1', body: { myshopify_domain: conn.storeDomain } }));
    // The change notice was processed as it was stored; the uninstall (a disconnect) by the processing job.
    for (const row of await rowsOf(a.tenantId)) expect(await t.services.inboundWebhooks.process(a.tenantId, row.id)).toBe(row.effect === 'disconnected' ? 'processed' : 'skipped');
    const after = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('connections').select(['status', 'routing_key']).where('id', '=', conn.id).executeTakeFirstOrThrow());
    expect(after).toEqual({ status: 'disabled', routing_key: null });
    const events = await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).orderBy('id').execute());
    const types = events.map((e) => e.type);
    expect(types.filter((x) => x === 'webhook.received')).toHaveLength(2);
    expect(types).toContain('connection.changed');
    expect(types).toContain('connection.disconnected');
    expect(JSON.stringify(events)).not.toContain('#1001'); // payload references, never the body
    expect((await rowsOf(a.tenantId)).map((r) => r.status)).toEqual(['processed', 'processed']);
    // Processing twice does nothing more.
    expect(await t.services.inboundWebhooks.process(a.tenantId, (await rowsOf(a.tenantId))[0]!.id)).toBe('skipped');
  });

  it('a failing event is retried with backoff, then failed with its error, and replayable', async () => {
    const a = await signup(t.app);
    const conn = await connectShop(a);
    const row = await requeued(a, shopifyOrder(conn.storeDomain, { eventId: 'fail-1' }));
    const retries = [];
    for (let i = 0; i < 5; i++) retries.push(await t.services.inboundWebhooks.recordFailure(a.tenantId, row!.id, new Error('consumer_down')));
    expect(retries).toEqual([true, true, true, true, false]);
    const [failed] = await rowsOf(a.tenantId);
    expect([failed!.status, failed!.attempts, failed!.last_error]).toEqual(['failed', 5, 'consumer_down']);
    const replay = await t.app.inject({ method: 'POST', url: `/api/webhooks/inbound/${row!.id}/replay`, headers: bearer(a.accessToken) });
    expect([replay.statusCode, replay.json().data.status]).toEqual([200, 'received']);
    expect(await t.services.inboundWebhooks.process(a.tenantId, row!.id)).toBe('processed');
  });

  it('a drain acts on a tenant\'s events as a batch; one that fails fails alone, the rest are processed once', async () => {
    const a = await signup(t.app);
    const conn = await connectShop(a);
    for (const name of ['b-1', 'b-2', 'b-3']) await requeued(a, shopifyOrder(conn.storeDomain, { body: { id: 1, name } }));
    const announced = async () => (await t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select('type').where('type', '=', 'webhook.received').execute())).length;
    const before = await announced();
    const nameOf = (r: Parameters<typeof payloadOf>[0]) => (payloadOf(r) as { name: string }).name;
    const broken = (await rowsOf(a.tenantId)).find((r) => nameOf(r) === 'b-2')!;
    const admin = await adminClient();
    try {
      // Its connection vanished (as if deleted between receipt and processing).
      await admin.query('update inbound_events set connection_id = gen_random_uuid() where id = $1', [broken.id]);
    } finally {
      await admin.end();
    }
    await t.services.inboundWebhooks.drain();
    const rows = (await rowsOf(a.tenantId)).sort((x, y) => nameOf(x).localeCompare(nameOf(y)));
    expect(rows.map((r) => [nameOf(r), r.status, r.attempts, r.last_error])).toEqual([
      ['b-1', 'processed', 1, null], ['b-2', 'received', 1, 'connection_not_found'], ['b-3', 'processed', 1, null],
    ]);
    expect((await announced()) - before).toBe(2); // the rolled-back batch left nothing behind
  });

  it('after a failed attempt the event waits out its backoff before the next one', async () => {
    const a = await signup(t.app);
    const conn = await connectShop(a);
    const row = await requeued(a, shopifyOrder(conn.storeDomain, { eventId: 'backoff-1' }));
    await t.services.inboundWebhooks.recordFailure(a.tenantId, row!.id, new Error('consumer_down'));
    const [waiting] = await rowsOf(a.tenantId);
    expect(waiting!.next_attempt_at!.getTime() - t.clock().getTime()).toBe(5_000);
    await t.services.inboundWebhooks.recordFailure(a.tenantId, row!.id, new Error('consumer_down'));
    expect((await rowsOf(a.tenantId))[0]!.next_attempt_at!.getTime() - t.clock().getTime()).toBe(10_000);
  });
});

describe('the platform quarantine', () => {
  it('platform admins see it (tenants do not); a replay once the store is connected delivers to that tenant, effect included', async () => {
    const email = `ops-${randomBytes(4).toString('hex')}@keyhold.example`;
    const password = STRONG_PASSWORD();
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'SUPPORT', password });
    const admin = bearer((await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() })).json().data.accessToken);
    const storeDomain = shop();
    const uninstalled = shopifyOrder(storeDomain, { topic: 'app/uninstalled', body: { myshopify_domain: storeDomain } });
    await deliver(t.app, '/api/webhooks/shopify', uninstalled);
    const tenantUser = await signup(t.app);
    expect((await t.app.inject({ method: 'GET', url: '/api/admin/webhooks/quarantine', headers: bearer(tenantUser.accessToken) })).statusCode).toBe(401);
    const list = await t.app.inject({ method: 'GET', url: '/api/admin/webhooks/quarantine?limit=100', headers: admin });
    expect(list.statusCode, list.body).toBe(200);
    const item = list.json().data.find((x: { routingKey: string }) => x.routingKey === storeDomain);
    expect(item).toMatchObject({ provider: 'shopify', topic: 'app/uninstalled' });
    // SUPPORT may read but not move events between organizations.
    expect((await t.app.inject({ method: 'POST', url: `/api/admin/webhooks/quarantine/${item.id}/replay`, headers: admin })).statusCode).toBe(403);
    await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email: `a-${email}`, role: 'ADMIN', password });
    const ops = bearer((await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email: `a-${email}`, password }, remoteAddress: freshIp() })).json().data.accessToken);
    const early = await t.app.inject({ method: 'POST', url: `/api/admin/webhooks/quarantine/${item.id}/replay`, headers: ops });
    expect([early.statusCode, early.json().code]).toEqual([409, 'CONFLICT']);

    const conn = await connectShop(tenantUser, storeDomain);
    const replay = await t.app.inject({ method: 'POST', url: `/api/admin/webhooks/quarantine/${item.id}/replay`, headers: ops });
    expect([replay.statusCode, replay.json().data.delivered]).toEqual([200, true]);
    const [row] = await rowsOf(tenantUser.tenantId);
    expect([row!.connection_id, row!.external_id, row!.effect]).toEqual([conn.id, idOf(uninstalled), 'disconnected']);
    expect((await t.app.inject({ method: 'POST', url: `/api/admin/webhooks/quarantine/${item.id}/replay`, headers: ops })).statusCode).toBe(404);
  });
});

describe('tenants see only their own inbound events', () => {
  it("tenant B can neither list nor replay tenant A's events", async () => {
    const [a, b] = [await signup(t.app), await signup(t.app)];
    const conn = await connectShop(a);
    const sent = shopifyOrder(conn.storeDomain);
    await deliver(t.app, '/api/webhooks/shopify', sent);
    const listA = await t.app.inject({ method: 'GET', url: '/api/webhooks/inbound?provider=shopify&status=processed', headers: bearer(a.accessToken) });
    expect(listA.statusCode, listA.body).toBe(200);
    expect(listA.json().data.map((e: { externalId: string }) => e.externalId)).toEqual([idOf(sent)]);
    const id = listA.json().data[0].id as string;
    const listB = await t.app.inject({ method: 'GET', url: '/api/webhooks/inbound', headers: bearer(b.accessToken) });
    expect(listB.json().data).toEqual([]);
    const replayB = await t.app.inject({ method: 'POST', url: `/api/webhooks/inbound/${id}/replay`, headers: bearer(b.accessToken) });
    expect([replayB.statusCode, replayB.json().code]).toEqual([404, 'NOT_FOUND']);
    expect((await rowsOf(a.tenantId))[0]!.status).toBe('processed'); // not put back in the queue
  });
});

describe('per-connection webhooks (Stripe)', () => {
  const WHSEC = () => `whsec_${randomBytes(16).toString('hex')}`;

  it("the connection shows its URL; a delivery signed with the connection's secret is stored under it", async () => {
    const a = await signup(t.app);
    const secret = WHSEC();
    const conn = await connectStripe(a, secret);
    expect(conn.webhook_url).toMatch(/^http:\/\/keyhold\.test\/api\/webhooks\/stripe\/[A-Za-z0-9_-]{32}$/);
    expect(conn.webhook_url).not.toContain(conn.id);
    const path = new URL(conn.webhook_url!).pathname;
    const d = stripeWebhookDelivery({ secrets: [secret], type: 'payment_intent.succeeded', eventId: 'evt_s1', at: t.clock() });
    const res = await deliver(t.app, path, d);
    expect(res.statusCode, res.body).toBe(200);
    expect((await deliver(t.app, path, d)).statusCode).toBe(200);
    expect((await rowsOf(a.tenantId)).map((r) => [r.connection_id, r.topic, r.external_id])).toEqual([[conn.id, 'payment_intent.succeeded', 'evt_s1']]);
  });

  it('stale, wrong secret, unknown token, no secret on the connection: 401, nothing stored', async () => {
    const a = await signup(t.app);
    const secret = WHSEC();
    const path = new URL((await connectStripe(a, secret)).webhook_url!).pathname;
    const unsigned = new URL((await connectStripe(a)).webhook_url!).pathname;
    const cases: Array<[string, Delivery]> = [
      [path, stripeWebhookDelivery({ secrets: [secret], type: 'x.y', at: new Date(t.clock().getTime() - 301_000) })],
      [path, stripeWebhookDelivery({ secrets: [WHSEC()], type: 'x.y', at: t.clock() })],
      [`/api/webhooks/stripe/${randomBytes(24).toString('base64url')}`, stripeWebhookDelivery({ secrets: [secret], type: 'x.y', at: t.clock() })],
      [unsigned, stripeWebhookDelivery({ secrets: [secret], type: 'x.y', at: t.clock() })],
    ];
    for (const [url, d] of cases) {
      const res = await deliver(t.app, url, d);
      expect([res.statusCode, res.json().code], url).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
    }
    expect(await rowsOf(a.tenantId)).toEqual([]);
    expect(t.logs.text()).not.toContain(secret);
  });

  it('the app-level URL is not a Stripe endpoint, nor is a per-connection URL a Shopify one (404)', async () => {
    expect((await deliver(t.app, '/api/webhooks/stripe', stripeWebhookDelivery({ secrets: ['whsec_x'], type: 'x.y' }))).statusCode).toBe(404);
    expect((await deliver(t.app, `/api/webhooks/shopify/${randomBytes(24).toString('base64url')}`, shopifyOrder(shop()))).statusCode).toBe(404);
    expect((await deliver(t.app, '/api/webhooks/no-such-provider', shopifyOrder(shop()))).statusCode).toBe(404);
  });
});

describe('raw bodies', () => {
  it('any content type, or none, reaches the signature check as the exact bytes sent', async () => {
    const a = await signup(t.app);
    const { storeDomain } = await connectShop(a);
    const ids: string[] = [];
    for (const [i, type] of [['1', 'text/plain'], ['2', 'application/x-www-form-urlencoded'], ['3', undefined]] as const) {
      const d = shopifyOrder(storeDomain, { body: { id: `ct-${i}` } });
      ids.push(idOf(d));
      const { 'content-type': _, ...rest } = d.headers;
      const res = await deliver(t.app, '/api/webhooks/shopify', { headers: type ? { ...rest, 'content-type': type } : rest, body: d.body });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(200);
    }
    expect((await rowsOf(a.tenantId)).map((r) => r.external_id).sort()).toEqual(ids.sort());
  });
});

describe('limits', () => {
  it('a body over 1 MiB is 413 and nothing is stored', async () => {
    const a = await signup(t.app);
    const { storeDomain } = await connectShop(a);
    const d = shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop: storeDomain, topic: 'orders/create', body: { pad: 'x'.repeat(1_048_577) } });
    const res = await deliver(t.app, '/api/webhooks/shopify', d);
    expect([res.statusCode, res.json().code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await rowsOf(a.tenantId)).toEqual([]);
  });
});
