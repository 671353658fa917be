import { randomBytes } from 'node:crypto';
import {
  assemblyaiDelivery, customDelivery, kustomerDelivery, messengerEntry, messengerMessage, messengerSubscribeQuery, messengerWebhookDelivery, muxDelivery,
  quickbooksCloudEvent, quickbooksCloudEventsDelivery, quickbooksLegacyDelivery, resendDelivery, shopifyWebhookDelivery, slackEventCallback, slackUrlVerification,
  slackWebhookDelivery, stripeWebhookDelivery, unleashedDelivery, wiseDelivery, wiseWebhookKeyPair, xeroIntentToReceive, xeroWebhookDelivery, xeroWebhookEvent,
} from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { adapterFor } from '../../providers/registry.js';
import { legacyEntityId } from '../../providers/quickbooks/webhooks.js';
import { xeroEventId } from '../../providers/xero/webhooks.js';
import { type Account, bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { appFor, oauthHarness } from '../../test-support/oauth.js';

/**
 * Every catalog provider with `webhooks:`, through the real HTTP route and the real database: a
 * signed delivery is stored under the tenant owning the account (and nowhere else) before an empty
 * 200; tampered, forged and stale ones are 401 and store nothing; a redelivery is still one row.
 * A provider added to the catalog without a case below fails the first test.
 */
const APP_SECRETS = { xero: `xero-key-${randomBytes(8).toString('hex')}`, quickbooks: `qb-verifier-${randomBytes(8).toString('hex')}`, messenger: `meta-${randomBytes(8).toString('hex')}`, slack: `slack-${randomBytes(8).toString('hex')}` };
const VERIFY_TOKEN = `vt-${randomBytes(8).toString('hex')}`;
const SHOPIFY_SECRET = appFor('shopify').clientSecret; // Shopify signs webhooks with the app's client secret

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness({
    webhooks: {
      secrets: Object.fromEntries(Object.entries(APP_SECRETS).map(([p, s]) => [p, [new Secret(s)]])),
      verifyTokens: { messenger: new Secret(VERIFY_TOKEN) },
      rawRetentionDays: 30,
      retentionDays: 90,
    },
  });
});
afterAll(() => h?.close());

type Sent = { headers: Record<string, string>; body: string | Buffer };
type Conn = { id: string; key: string; url: string; secret: string };
type SignOpts = { id: string; at: Date; forged?: boolean };
type Case = {
  /** `withoutSecret` (connection level): the connection is saved without its signing secret. */
  connect(acct: Account, withoutSecret?: boolean): Promise<Conn>;
  /** A delivery of one event `id` for this connection; `forged`: signed with a secret that is not the right one. */
  sign(c: Conn, o: SignOpts): Sent;
  expected(c: Conn, o: SignOpts): { topic: string; externalId: string };
  /** The scheme signs a timestamp, so an old delivery is refused. */
  timestamped: boolean;
  /** The scheme signs the body (AssemblyAI sends a shared header value only). */
  bodySigned: boolean;
};

const post = (url: string, d: Sent) => h.t.app.inject({ method: 'POST', url, headers: d.headers, payload: d.body });
const now = () => h.t.clock();
const uid = () => randomBytes(6).toString('hex');

async function connectionOf(tenantId: string, provider: string) {
  const c = await adminClient();
  try {
    const { rows } = await c.query('select id, routing_key from connections where tenant_id = $1 and provider = $2', [tenantId, provider]);
    expect(rows, `${provider} connection of ${tenantId}`).toHaveLength(1);
    return { id: rows[0].id as string, key: rows[0].routing_key as string };
  } finally {
    await c.end();
  }
}

/** App level, OAuth: the whole connect flow against the sandbox; the routing key is the account the sandbox granted. */
const oauthConnect = (provider: keyof typeof APP_SECRETS) => async (acct: Account): Promise<Conn> => {
  const res = await h.connect(acct, provider, { consent: { sandbox_account: `acct-${uid()}`, sandbox_count: '1' } });
  expect(res.statusCode, res.body).toBe(302);
  const { id, key } = await connectionOf(acct.tenantId, provider);
  expect(key).toBeTruthy();
  return { id, key, url: `/api/webhooks/${provider}`, secret: APP_SECRETS[provider] };
};

/** Connection level: an API-key connection with the adapter's signing-secret field set; deliveries go to its own URL. */
const apiKeyConnect = (provider: string, secret: () => string, base: () => { apiKey: string; apiSecret?: string; additionalConfig?: Record<string, string> }) => async (acct: Account, withoutSecret?: boolean): Promise<Conn> => {
  const field = adapterFor({ id: provider }).webhooks!.secretField!;
  const value = withoutSecret ? undefined : secret();
  const { additionalConfig, ...keys } = base();
  const res = await h.t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName: provider, ...keys, label: `w${uid()}`, additionalConfig: { ...additionalConfig, ...(value ? { [field]: value } : {}) } },
  });
  expect(res.statusCode, res.body).toBe(201);
  const data = res.json().data as { id: string; webhook_url: string };
  expect(data.webhook_url).toMatch(new RegExp(`/api/webhooks/${provider}/[A-Za-z0-9_-]{32,64}$`));
  expect(data.webhook_url).not.toContain(data.id);
  const shown = await h.t.app.inject({ method: 'GET', url: `/api/api-credentials/${data.id}`, headers: bearer(acct.accessToken) });
  expect(shown.json().data.webhook_url).toBe(data.webhook_url);
  return { id: data.id, key: '', url: new URL(data.webhook_url).pathname, secret: value ?? '' };
};
const fromCredentials = (provider: string) => () => {
  const body = credentialsFor(provider).body as { apiKey: string; apiSecret?: string; additionalConfig?: Record<string, string> };
  return body;
};
const newWhsecSecret = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
const wrong = (c: Conn, forged?: boolean) => (forged ? `${c.secret}-not` : c.secret);

const wiseKeys = wiseWebhookKeyPair();
const wiseForger = wiseWebhookKeyPair();
const ASSEMBLYAI_HEADER = 'X-Webhook-Secret';

const CASES: Record<string, Case> = {
  shopify: {
    async connect(acct) {
      const storeDomain = `store-${uid()}.myshopify.com`;
      const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: `shpat_${uid()}`, additionalConfig: { storeDomain } } });
      expect(res.statusCode, res.body).toBe(201);
      return { id: res.json().data.id, key: storeDomain, url: '/api/webhooks/shopify', secret: SHOPIFY_SECRET };
    },
    sign: (c, o) => shopifyWebhookDelivery({ secret: wrong(c, o.forged), shop: c.key, topic: 'orders/create', body: { id: o.id }, eventId: o.id, at: o.at }),
    expected: (_c, o) => ({ topic: 'orders/create', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
  xero: {
    connect: oauthConnect('xero'),
    sign: (c, o) => xeroWebhookDelivery(wrong(c, o.forged), [xeroWebhookEvent({ tenantId: c.key, resourceId: o.id, at: o.at })]),
    expected: (c, o) => ({ topic: 'INVOICE.UPDATE', externalId: xeroEventId(xeroWebhookEvent({ tenantId: c.key, resourceId: o.id, at: o.at })) }),
    timestamped: false,
    bodySigned: true,
  },
  quickbooks: {
    connect: oauthConnect('quickbooks'),
    sign: (c, o) => quickbooksCloudEventsDelivery(wrong(c, o.forged), [quickbooksCloudEvent({ realmId: c.key, entity: 'Invoice', entityId: '42', at: o.at, id: o.id })]),
    expected: (_c, o) => ({ topic: 'qbo.invoice.updated.v1', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
  messenger: {
    connect: oauthConnect('messenger'),
    sign: (c, o) => messengerWebhookDelivery(wrong(c, o.forged), [messengerEntry(c.key, o.at, [messengerMessage({ pageId: c.key, senderId: 'psid-1', text: 'hello', mid: o.id, at: o.at })])]),
    expected: (_c, o) => ({ topic: 'messages', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
  slack: {
    connect: oauthConnect('slack'),
    sign: (c, o) => slackWebhookDelivery(wrong(c, o.forged), slackEventCallback({ teamId: c.key, event: { type: 'message', text: 'hi' }, eventId: o.id, at: o.at }), o.at),
    expected: (_c, o) => ({ topic: 'message', externalId: o.id }),
    timestamped: true,
    bodySigned: true,
  },
  stripe: {
    connect: apiKeyConnect('stripe', () => `whsec_${randomBytes(16).toString('hex')}`, fromCredentials('stripe')),
    sign: (c, o) => stripeWebhookDelivery({ secrets: [wrong(c, o.forged)], type: 'payment_intent.succeeded', eventId: o.id, at: o.at }),
    expected: (_c, o) => ({ topic: 'payment_intent.succeeded', externalId: o.id }),
    timestamped: true,
    bodySigned: true,
  },
  mux: {
    connect: apiKeyConnect('mux', () => `mux-${randomBytes(16).toString('hex')}`, fromCredentials('mux')),
    sign: (c, o) => muxDelivery({ secret: wrong(c, o.forged), event: { id: o.id, type: 'video.asset.ready' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'video.asset.ready', externalId: o.id }),
    timestamped: true,
    bodySigned: true,
  },
  resend: {
    connect: apiKeyConnect('resend', () => newWhsecSecret(randomBytes(24)), fromCredentials('resend')),
    sign: (c, o) => resendDelivery({ secret: o.forged ? newWhsecSecret(randomBytes(24)) : c.secret, id: o.id, event: { type: 'email.delivered' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'email.delivered', externalId: o.id }),
    timestamped: true,
    bodySigned: true,
  },
  kustomer: {
    connect: apiKeyConnect('kustomer', () => `kus-${randomBytes(16).toString('hex')}`, fromCredentials('kustomer')),
    sign: (c, o) => kustomerDelivery({ secret: wrong(c, o.forged), event: { id: o.id, type: 'kustomer.conversation.create' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'kustomer.conversation.create', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
  wise: {
    connect: apiKeyConnect('wise', () => wiseKeys.publicKeyPem, fromCredentials('wise')),
    sign: (_c, o) => wiseDelivery({ privateKey: o.forged ? wiseForger.privateKey : wiseKeys.privateKey, event: { deliveryId: o.id, type: 'transfers#state-change' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'transfers#state-change', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
  assemblyai: {
    connect: apiKeyConnect('assemblyai', () => `aai-${randomBytes(16).toString('hex')}`, () => ({ apiKey: randomBytes(16).toString('hex'), additionalConfig: { webhookAuthHeaderName: ASSEMBLYAI_HEADER } })),
    sign: (c, o) => assemblyaiDelivery({ headerName: ASSEMBLYAI_HEADER, headerValue: wrong(c, o.forged), transcriptId: o.id, status: 'completed' }),
    expected: (_c, o) => ({ topic: 'transcript.completed', externalId: `${o.id}:completed` }),
    timestamped: false,
    bodySigned: false,
  },
  unleashed: {
    connect: apiKeyConnect('unleashed', () => `unl-${randomBytes(16).toString('hex')}`, fromCredentials('unleashed')),
    sign: (c, o) => unleashedDelivery({ signingKey: wrong(c, o.forged), event: { eventNotificationId: o.id, eventType: 'SalesOrder.Updated' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'SalesOrder.Updated', externalId: o.id }),
    timestamped: true,
    bodySigned: true,
  },
  custom: {
    connect: apiKeyConnect('custom', () => `cus-${randomBytes(16).toString('hex')}`, () => ({ apiKey: `k-${uid()}`, additionalConfig: { baseUrl: 'https://api.example.com', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}' } })),
    sign: (c, o) => customDelivery({ secret: wrong(c, o.forged), signing: { mode: 'hmac', header: 'X-Signature', encoding: 'hex' }, event: { id: o.id, type: 'thing.updated' }, at: o.at }),
    expected: (_c, o) => ({ topic: 'thing.updated', externalId: o.id }),
    timestamped: false,
    bodySigned: true,
  },
};

const rowsOf = (tenantId: string) =>
  h.t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['connection_id', 'provider', 'topic', 'external_id']).orderBy('received_at').execute())
    .then((rows) => rows.map((r) => [r.connection_id, r.provider, r.topic, r.external_id]));
const refused = async (url: string, d: Sent, what: string) => {
  const res = await post(url, d);
  expect([res.statusCode, res.json().code], `${what}: ${res.body}`).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
};
/** The signed body with one field added by someone on the way (still valid JSON, same headers). */
const tamper = (d: Sent): Sent => {
  const text = Buffer.from(d.body).toString('utf8');
  expect(text.startsWith('{') || text.startsWith('[{')).toBe(true);
  return { headers: d.headers, body: text.replace('{', '{"injected":true,') };
};
/** keyhold_webhooks_total by outcome for one provider (this file's app only). */
async function metrics(provider: string): Promise<Record<string, number>> {
  const { values } = await h.t.services.metrics.registry.getSingleMetric('keyhold_webhooks_total')!.get();
  return Object.fromEntries(values.filter((v) => v.labels.provider === provider).map((v) => [String(v.labels.outcome), v.value]));
}
const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v !== 0));
async function quarantined(routingKey: string) {
  const c = await adminClient();
  try {
    return (await c.query('select provider, external_id from inbound_quarantine where routing_key = $1', [routingKey])).rows;
  } finally {
    await c.end();
  }
}

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

      // Processed after the ack: one webhook.received for the connection, naming the event, not carrying its body.
      const [row] = await h.t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('inbound_events').select(['id', 'effect', 'raw_body', 'headers']).where('external_id', '=', externalId).execute());
      // The exact bytes sent are kept; no signature, nor the secret, is among the stored headers.
      expect(Buffer.from(row!.raw_body!).equals(Buffer.from(d.body))).toBe(true);
      const signatures = Object.entries(d.headers).filter(([name]) => /sig|hmac|secret/i.test(name)).map(([, v]) => v);
      expect(signatures.length).toBeGreaterThan(0);
      for (const v of [...signatures, ...(conn.secret.length > 8 ? [conn.secret] : [])]) expect(JSON.stringify(row!.headers)).not.toContain(v);
      expect(await h.t.services.inboundWebhooks.process(a.tenantId, row!.id)).toBe('processed');
      const events = await h.t.db.withTenant(a.tenantId, (tx) => tx.selectFrom('events').select(['type', 'payload']).where('type', 'in', ['webhook.received', 'connection.changed']).execute());
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
    const res = await post('/api/webhooks/shopify', shopifyWebhookDelivery({ secret: SHOPIFY_SECRET, shop, topic: 'app/uninstalled', body: { myshopify_domain: shop }, eventId: 'uninstalled-1' }));
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect(await rowsOf(acct.tenantId)).toEqual([[conn.id, 'shopify', 'app/uninstalled', 'uninstalled-1']]);
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
