import { randomBytes } from 'node:crypto';
import { customDelivery, messengerEntry, messengerMessage, messengerSubscribeQuery, messengerWebhookDelivery, quickbooksCloudEvent, quickbooksCloudEventsDelivery, quickbooksLegacyDelivery, shopifyWebhookDelivery, slackEventCallback, slackUrlVerification, slackWebhookDelivery, xeroIntentToReceive, xeroWebhookDelivery, xeroWebhookEvent } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../providers/registry.js';
import { legacyEntityId } from '../../providers/quickbooks/webhooks.js';
import { shopifyEventId } from '../../providers/shopify/webhooks.js';
import { xeroEventId } from '../../providers/xero/webhooks.js';
import { type Account, bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { APP_SECRETS, CASES, type Conn, SHOPIFY_SECRET, type Sent, VERIFY_TOKEN, connectionOf, diff, h, metrics, now, post, quarantined, refused, rowsOf, tamper, uid, useWebhookHarness } from '../../test-support/webhook-cases.js';


/**
 * Every catalog provider with `webhooks:`, through the real HTTP route and the real database: a
 * signed delivery is stored under the tenant owning the account (and nowhere else) before an empty
 * 200; tampered, forged and stale ones are 401 and store nothing; a redelivery is still one row.
 * A provider added to the catalog without a case below fails the first test.
 */
useWebhookHarness();

describe('every catalog provider with webhooks', () => {
  it('has a case here (a new provider cannot be forgotten)', () => {
    const withWebhooks = h.t.services.catalog.list().filter((p) => p.webhooks).map((p) => p.id).sort();
    expect(withWebhooks).toEqual(Object.keys(CASES).sort());
  });

  it('a provider without webhooks has no webhook URL at either level (404)', async () => {
    const without = h.t.services.catalog.list().filter((p) => !p.webhooks).map((p) => p.id);
    expect(without).toContain('amazon-sp-api'); // notified through SQS/EventBridge, never over HTTP
    for (const id of without) {
      for (const url of [`/api/webhooks/${id}`, `/api/webhooks/${id}/${randomBytes(24).toString('base64url')}`]) {
        expect((await post(url, { headers: { 'content-type': 'application/json' }, body: '{}' })).statusCode, url).toBe(404);
      }
    }
  });

  describe.each(Object.keys(CASES))('%s', (provider) => {
    const c = CASES[provider]!;
    it('signed → 200 with no body, stored under the owning tenant only; tampered, forged, stale → 401 and nothing stored; redelivered → one row', async () => {
      const [a, b] = [await signup(h.t.app), await signup(h.t.app)];
      const conn = await c.connect(a);
      await c.connect(b); // an unrelated tenant with an account of its own at the same provider
      const at = now();
      const before = await metrics(provider);

      if (c.bodySigned) await refused(conn.url, tamper(c.sign(conn, { id: `tampered-${uid()}`, at })), 'tampered body');
      await refused(conn.url, c.sign(conn, { id: `forged-${uid()}`, at, forged: true }), 'wrong secret');
      if (c.timestamped) await refused(conn.url, c.sign(conn, { id: `stale-${uid()}`, at: new Date(at.getTime() - 600_000) }), 'stale');
      expect(await rowsOf(a.tenantId)).toEqual([]);

      const o = { id: `evt-${uid()}`, at };
      const d = c.sign(conn, o);
      const res = await post(conn.url, d);
      expect([res.statusCode, res.body], res.body).toEqual([200, '']);
      const { topic, externalId } = c.expected(conn, o);
      expect(await rowsOf(a.tenantId)).toEqual([[conn.id, provider, topic, externalId]]);
      expect(await rowsOf(b.tenantId)).toEqual([]);

      // Redelivered: the same request again, and the same event signed afresh (Xero: new entropy).
      expect((await post(conn.url, d)).statusCode).toBe(200);
      expect((await post(conn.url, c.sign(conn, o))).statusCode).toBe(200);
      expect(await rowsOf(a.tenantId)).toHaveLength(1);
      expect(h.t.logs.text()).not.toContain(conn.secret);
      const refusals = 1 + Number(c.bodySigned) + Number(c.timestamped);
      expect(diff(before, await metrics(provider))).toEqual({ received: refusals + 3, rejected: refusals, verified: 3, duplicate: 2 });

      // A burst: one new event sent 10 times at once is 10 × 200 and one row.
      const burst = { id: `burst-${uid()}`, at };
      const answers = await Promise.all(Array.from({ length: 10 }, () => post(conn.url, c.sign(conn, burst))));
      expect(answers.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
      expect((await rowsOf(a.tenantId)).filter((r) => r[3] === c.expected(conn, burst).externalId)).toHaveLength(1);
      expect(await rowsOf(a.tenantId)).toHaveLength(2);
      const listed = async (acct: Account) => {
        const res = await h.t.app.inject({ method: 'GET', url: `/api/webhooks/inbound?provider=${provider}&topic=${encodeURIComponent(topic)}`, headers: bearer(acct.accessToken) });
        expect(res.statusCode, res.body).toBe(200);
        return (res.json().data as Array<{ externalId: string }>).map((e) => e.externalId).sort();
      };
      expect(await listed(a)).toEqual([externalId, c.expected(conn, burst).externalId].sort());
      expect(await listed(b)).toEqual([]);

      // Processed: one webhook.received for the connection, naming the event, not carrying its body.
      const [row] = await h.t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select(['id', 'status', 'effect', 'raw_body', 'headers']).where('external_id', '=', externalId).execute());
      // The exact bytes sent are kept; no signature, nor the secret, is among the stored headers.
      expect(Buffer.from(row!.raw_body!).equals(Buffer.from(d.body))).toBe(true);
      const signatures = Object.entries(d.headers).filter(([name]) => /sig|hmac|secret/i.test(name)).map(([, v]) => v);
      expect(signatures.length).toBeGreaterThan(0);
      for (const v of [...signatures, ...(conn.secret.length > 8 ? [conn.secret] : [])]) expect(JSON.stringify(row!.headers)).not.toContain(v);
      // Processed as it was stored when that takes no application code; else by the processing job.
      if (row!.status === 'received') expect(await h.t.services.inboundWebhooks.process(a.tenantId, row!.id)).toBe('processed');
      else expect([row!.status, row!.effect === 'disconnected']).toEqual(['processed', false]);
      const events = (await h.t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', 'in', ['webhook.received', 'connection.changed']).execute()))
        .filter((e) => (e.payload as { inboundEventId?: string }).inboundEventId === row!.id);
      expect(events.map((e) => e.type).sort()).toEqual(row!.effect === 'changed' ? ['connection.changed', 'webhook.received'] : ['webhook.received']);
      expect(JSON.stringify(events)).toContain(externalId);

      // `timestamped: false` is true to the scheme: with nothing signed about time, an old delivery still counts.
      if (!c.timestamped) {
        expect((await post(conn.url, c.sign(conn, { id: `old-${uid()}`, at: new Date(at.getTime() - 600_000) }))).statusCode).toBe(200);
        expect(await rowsOf(a.tenantId)).toHaveLength(3);
      }
    });

    it('unsigned → 401; no secret configured → 401 (never accepted unsigned), until the tenant adds it; the other level\'s URL → 404', async () => {
      const a = await signup(h.t.app);
      const conn = await c.connect(a);
      const d = c.sign(conn, { id: `evt-${uid()}`, at: now() });
      await refused(conn.url, { headers: { 'content-type': 'application/json' }, body: d.body }, 'no signature headers');
      if (c.bodySigned) await refused(conn.url, { headers: d.headers, body: '' }, 'signature headers, empty body');
      else expect((await post(conn.url, { headers: d.headers, body: '' })).statusCode).toBe(400); // authenticated, but no event in it
      const big = await post(conn.url, { headers: d.headers, body: Buffer.alloc(1_048_577, 0x20) });
      expect([big.statusCode, big.json().code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const level = adapterFor({ id: provider }).webhooks!.level;
      if (level === 'app') {
        // The same delivery at an app with no webhook secret (and no OAuth app) for this provider.
        const bare = await testApp();
        try {
          const res = await bare.app.inject({ method: 'POST', url: conn.url, headers: d.headers, payload: d.body });
          expect([res.statusCode, res.json().code, res.json().error]).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID', expect.stringContaining('no_secret')]);
        } finally {
          await bare.close();
        }
        expect((await post(`${conn.url}/${randomBytes(24).toString('base64url')}`, d)).statusCode).toBe(404);
      } else {
        const unsigned = await c.connect(a, true);
        await refused(unsigned.url, d, 'connection without its signing secret');
        expect((await post(`/api/webhooks/${provider}`, d)).statusCode).toBe(404);
        // An unknown token is answered exactly as a wrong signature at a real one: tokens cannot be probed.
        const answer = async (url: string, sent: Sent) => {
          const res = await post(url, sent);
          return [res.statusCode, res.json().code, res.json().error];
        };
        expect(await answer(`/api/webhooks/${provider}/${randomBytes(24).toString('base64url')}`, d))
          .toEqual(await answer(conn.url, c.sign(conn, { id: `evt-${uid()}`, at: now(), forged: true })));
        expect(await rowsOf(a.tenantId)).toEqual([]);
        // The tenant registers the URL first and pastes the secret afterwards: same URL, now accepted.
        const field = adapterFor({ id: provider }).webhooks!.secretField!;
        const code = await enrolMfa(h.t.app, h.t.clock, a); // changing a secret is a step-up action
        const put = await h.t.app.inject({ method: 'PUT', url: `/api/api-credentials/${unsigned.id}?verify=false`, headers: { ...bearer(a.accessToken), 'x-mfa-code': await code() }, payload: { additionalConfig: { [field]: conn.secret } } });
        expect(put.statusCode, put.body).toBe(200);
        expect(new URL(put.json().data.webhook_url).pathname).toBe(unsigned.url);
        expect((await post(unsigned.url, d)).statusCode).toBe(200);
        expect((await rowsOf(a.tenantId)).map((r) => r[0])).toEqual([unsigned.id]);
        return;
      }
      expect(await rowsOf(a.tenantId)).toEqual([]);
    });
  });
});

describe('handshakes through the route', () => {
  it("Meta's GET hub.challenge: echoed for the right verify token, 403 for a wrong one; nothing stored", async () => {
    const ok = await h.t.app.inject({ method: 'GET', url: '/api/webhooks/messenger', query: messengerSubscribeQuery(VERIFY_TOKEN, 'ch-1234') });
    expect([ok.statusCode, ok.body]).toEqual([200, 'ch-1234']);
    const bad = await h.t.app.inject({ method: 'GET', url: '/api/webhooks/messenger', query: messengerSubscribeQuery(`${VERIFY_TOKEN}x`, 'ch-1234') });
    expect(bad.statusCode).toBe(403);
    expect(bad.body).not.toContain('ch-1234');
  });

  it('a GET to an app-level URL without a GET handshake is 404, even shaped like Meta\'s', async () => {
    const appLevel = Object.keys(CASES).filter((p) => adapterFor({ id: p }).webhooks!.level === 'app' && p !== 'messenger');
    expect(appLevel.sort()).toEqual(['quickbooks', 'shopify', 'slack', 'xero']);
    for (const p of appLevel) {
      const res = await h.t.app.inject({ method: 'GET', url: `/api/webhooks/${p}`, query: messengerSubscribeQuery(VERIFY_TOKEN, 'ch-1') });
      expect([res.statusCode, res.body.includes('ch-1')], p).toEqual([404, false]);
    }
  });

  it("Slack's url_verification: the challenge when signed, 401 when not", async () => {
    const ok = await post('/api/webhooks/slack', slackWebhookDelivery(APP_SECRETS.slack, slackUrlVerification('slack-ch'), now()));
    expect([ok.statusCode, ok.body]).toEqual([200, 'slack-ch']);
    await refused('/api/webhooks/slack', slackWebhookDelivery('not-the-secret', slackUrlVerification('slack-ch'), now()), 'forged url_verification');
  });

  it("Xero's intent to receive: a good signature with no events is an empty 200, a bad one 401", async () => {
    const ok = await post('/api/webhooks/xero', xeroIntentToReceive(APP_SECRETS.xero, { signed: true }));
    expect([ok.statusCode, ok.body]).toEqual([200, '']);
    const bad = await post('/api/webhooks/xero', xeroIntentToReceive(APP_SECRETS.xero, { signed: false }));
    expect([bad.statusCode, bad.json().code]).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
  });
});

describe('batches across tenants', () => {
  type Batch = { name: string; provider: 'xero' | 'quickbooks' | 'messenger'; deliver(keys: string[], ids: string[]): Sent; externalId(key: string, id: string): string };
  const at = () => now();
  const legacyEntity = (id: string) => ({ name: 'Invoice', id, operation: 'Update', lastUpdated: '2026-11-01T10:00:00.000Z' });
  const batches: Batch[] = [
    {
      name: 'xero',
      provider: 'xero',
      deliver: (keys, ids) => xeroWebhookDelivery(APP_SECRETS.xero, keys.map((k, i) => xeroWebhookEvent({ tenantId: k, resourceId: ids[i]!, at: new Date(0) }))),
      externalId: (k, id) => xeroEventId(xeroWebhookEvent({ tenantId: k, resourceId: id, at: new Date(0) })),
    },
    {
      name: 'quickbooks (CloudEvents, two realms)',
      provider: 'quickbooks',
      deliver: (keys, ids) => quickbooksCloudEventsDelivery(APP_SECRETS.quickbooks, keys.map((k, i) => quickbooksCloudEvent({ realmId: k, entity: 'Invoice', entityId: String(i), at: at(), id: ids[i]! }))),
      externalId: (_k, id) => id,
    },
    {
      name: 'quickbooks (legacy eventNotifications, two realms)',
      provider: 'quickbooks',
      deliver: (keys, ids) => quickbooksLegacyDelivery(APP_SECRETS.quickbooks, keys.map((k, i) => ({ realmId: k, entities: [legacyEntity(ids[i]!)] }))),
      externalId: (k, id) => legacyEntityId(k, legacyEntity(id)),
    },
    {
      name: 'messenger (two pages)',
      provider: 'messenger',
      deliver: (keys, ids) => messengerWebhookDelivery(APP_SECRETS.messenger, keys.map((k, i) => messengerEntry(k, at(), [messengerMessage({ pageId: k, senderId: 'psid-9', text: 'hi', mid: ids[i]!, at: at() })]))),
      externalId: (_k, id) => id,
    },
  ];

  it.each(batches.map((x) => [x.name, x] as const))('%s: each part under its own tenant, an unknown account quarantined; sent again, or twice in one delivery, still once', async (_name, batch) => {
    const { provider } = batch;
    const [a, b] = [await signup(h.t.app), await signup(h.t.app)];
    const [ca, cb] = [await CASES[provider]!.connect(a), await CASES[provider]!.connect(b)];
    const unknown = provider === 'xero' ? crypto.randomUUID() : String(9_000_000_000 + Math.floor(Math.random() * 1e9));
    const ids = [`a-${uid()}`, `b-${uid()}`, `n-${uid()}`];
    const res = await post(`/api/webhooks/${provider}`, batch.deliver([ca.key, cb.key, unknown], ids));
    expect([res.statusCode, res.body], res.body).toEqual([200, '']);
    expect((await rowsOf(a.tenantId)).map((r) => [r[0], r[3]])).toEqual([[ca.id, batch.externalId(ca.key, ids[0]!)]]);
    expect((await rowsOf(b.tenantId)).map((r) => [r[0], r[3]])).toEqual([[cb.id, batch.externalId(cb.key, ids[1]!)]]);
    expect(await quarantined(unknown)).toEqual([{ provider, external_id: batch.externalId(unknown, ids[2]!) }]);

    const again = await post(`/api/webhooks/${provider}`, batch.deliver([ca.key, ca.key, cb.key, unknown, unknown], [ids[0]!, ids[0]!, ids[1]!, ids[2]!, ids[2]!]));
    expect(again.statusCode, again.body).toBe(200);
    expect([(await rowsOf(a.tenantId)).length, (await rowsOf(b.tenantId)).length, (await quarantined(unknown)).length]).toEqual([1, 1, 1]);
  });
});

describe('routing variants', () => {
  it('Shopify connected through OAuth: the store the install named receives its deliveries', async () => {
    h.t.clock.set(Date.now()); // the install callback's timestamp is checked against Keyhold's clock
    const acct = await signup(h.t.app);
    const shop = `oauth-${uid()}.myshopify.com`;
    expect((await h.connect(acct, 'shopify', { shop })).statusCode).toBe(302);
    const conn = await connectionOf(acct.tenantId, 'shopify');
    const sent = shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop, topic: 'app/uninstalled', body: { myshopify_domain: shop }, eventId: 'uninstalled-1' });
    const res = await post('/api/webhooks/shopify', sent);
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect(await rowsOf(acct.tenantId)).toEqual([[conn.id, 'shopify', 'app/uninstalled', shopifyEventId('app/uninstalled', sent.body)]]);
  });

  it('Slack org-wide install: events route by the organisation; app_uninstalled disconnects once processed', async () => {
    const acct = await signup(h.t.app);
    expect((await h.connect(acct, 'slack', { consent: { sandbox_account: `grid-${uid()}`, sandbox_enterprise: '1' } })).statusCode).toBe(302);
    const conn = await connectionOf(acct.tenantId, 'slack');
    const callback = slackEventCallback({ teamId: `T${uid()}`, enterpriseId: conn.key, orgWide: true, event: { type: 'app_uninstalled' }, eventId: 'EvGRID1', at: now() });
    const res = await post('/api/webhooks/slack', slackWebhookDelivery(APP_SECRETS.slack, callback, now()));
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect(await rowsOf(acct.tenantId)).toEqual([[conn.id, 'slack', 'app_uninstalled', 'EvGRID1']]);
    const [row] = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('inbound_events').select('id').execute());
    expect(await h.t.services.inboundWebhooks.process(acct.tenantId, row!.id)).toBe('processed');
    const after = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select(['status', 'routing_key']).where('id', '=', conn.id).executeTakeFirstOrThrow());
    expect(after).toEqual({ status: 'disabled', routing_key: null });
  });

  it('Slack tokens_revoked naming the bot disconnects the workspace install once processed', async () => {
    const acct = await signup(h.t.app);
    expect((await h.connect(acct, 'slack', { consent: { sandbox_account: `ws-${uid()}` } })).statusCode).toBe(302);
    const conn = await connectionOf(acct.tenantId, 'slack');
    const callback = slackEventCallback({ teamId: conn.key, event: { type: 'tokens_revoked', tokens: { bot: ['U0BOT'] } }, eventId: 'EvREVOKED1', at: now() });
    const res = await post('/api/webhooks/slack', slackWebhookDelivery(APP_SECRETS.slack, callback, now()));
    expect([res.statusCode, res.body]).toEqual([200, '']);
    const [row] = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('inbound_events').select('id').execute());
    expect(await h.t.services.inboundWebhooks.process(acct.tenantId, row!.id)).toBe('processed');
    const after = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('connections').select(['status', 'routing_key']).where('id', '=', conn.id).executeTakeFirstOrThrow());
    expect(after).toEqual({ status: 'disabled', routing_key: null });
  });

  it("Xero SUBSCRIPTION events (tenantId is the app's id) are neither stored nor quarantined; the organisation's event beside them is", async () => {
    const acct = await signup(h.t.app);
    const conn = await CASES.xero!.connect(acct);
    const appId = crypto.randomUUID();
    const sub = xeroWebhookEvent({ tenantId: appId, resourceId: `sub-${uid()}`, category: 'SUBSCRIPTION', at: now() });
    const invoice = xeroWebhookEvent({ tenantId: conn.key, resourceId: `inv-${uid()}`, at: now() });
    const res = await post('/api/webhooks/xero', xeroWebhookDelivery(APP_SECRETS.xero, [sub, invoice]));
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect((await rowsOf(acct.tenantId)).map((r) => r[2])).toEqual(['INVOICE.UPDATE']);
    expect(await quarantined(appId)).toEqual([]);
  });

  it('custom API in Standard Webhooks mode: signed → stored by webhook-id; stale or forged → 401', async () => {
    const acct = await signup(h.t.app);
    const whsec = `whsec_${randomBytes(24).toString('base64')}`;
    const res = await h.t.app.inject({
      method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
      payload: { serviceName: 'custom', apiKey: 'k', additionalConfig: { baseUrl: 'https://api.example.com', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}', webhookMode: 'standard', webhookSecret: whsec } },
    });
    expect(res.statusCode, res.body).toBe(201);
    const url = new URL(res.json().data.webhook_url).pathname;
    const send = (secret: string, at: Date) => customDelivery({ secret, signing: { mode: 'standard', id: `msg_${uid()}` }, event: { id: 'e1', type: 'order.paid' }, at });
    await refused(url, send(whsec, new Date(now().getTime() - 600_000)), 'stale');
    await refused(url, send(`whsec_${randomBytes(24).toString('base64')}`, now()), 'forged');
    const d = send(whsec, now());
    expect((await post(url, d)).statusCode).toBe(200);
    expect((await rowsOf(acct.tenantId)).map((r) => [r[2], r[3]])).toEqual([['order.paid', d.headers['webhook-id']]]);
  });
});

describe('an account connected after its first delivery', () => {
  it.each(['xero', 'quickbooks', 'messenger', 'slack'] as const)('%s: quarantined until then, delivered to the connecting tenant on replay', async (provider) => {
    const c = CASES[provider]!;
    const name = `late-${uid()}`;
    const key = h.sandbox.oauth.accountIds(provider, name).id;
    const early: Conn = { id: '', key, url: `/api/webhooks/${provider}`, secret: APP_SECRETS[provider] };
    const o = { id: `late-${uid()}`, at: now() };
    expect((await post(early.url, c.sign(early, o))).statusCode).toBe(200);
    const admin = await adminClient();
    let quarantineId: string;
    try {
      quarantineId = (await admin.query('select id from inbound_quarantine where provider = $1 and routing_key = $2', [provider, key])).rows[0].id;
    } finally {
      await admin.end();
    }
    await expect(h.t.services.inboundWebhooks.replayQuarantined(quarantineId)).rejects.toMatchObject({ code: 'CONFLICT' });

    const acct = await signup(h.t.app);
    expect((await h.connect(acct, provider, { consent: { sandbox_account: name, sandbox_count: '1' } })).statusCode).toBe(302);
    const conn = await connectionOf(acct.tenantId, provider);
    expect(conn.key).toBe(key);
    expect(await h.t.services.inboundWebhooks.replayQuarantined(quarantineId)).toEqual({ id: quarantineId, delivered: true });
    const { topic, externalId } = c.expected(early, o);
    expect(await rowsOf(acct.tenantId)).toEqual([[conn.id, provider, topic, externalId]]);
    expect(await quarantined(key)).toEqual([]);
  });
});
