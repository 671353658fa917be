import { randomBytes } from 'node:crypto';
import { assemblyaiDelivery, customDelivery, kustomerDelivery, messengerEntry, messengerMessage, messengerWebhookDelivery, muxDelivery, quickbooksCloudEvent, quickbooksCloudEventsDelivery, resendDelivery, shopifyWebhookDelivery, slackEventCallback, slackWebhookDelivery, stripeWebhookDelivery, unleashedDelivery, wiseDelivery, wiseWebhookKeyPair, xeroWebhookDelivery, xeroWebhookEvent } from '@keyhold/sandbox';
import { afterAll, beforeAll, expect } from 'vitest';
import { Secret } from '../platform/crypto/secret.js';
import { adapterFor } from '../providers/registry.js';
import { shopifyEventId } from '../providers/shopify/webhooks.js';
import { wiseEventId } from '../providers/wise/webhooks.js';
import { xeroEventId } from '../providers/xero/webhooks.js';
import { type Account, bearer } from './accounts.js';
import { credentialsFor } from './credentials.js';
import { adminClient } from './index.js';
import { appFor, oauthHarness } from './oauth.js';

/**
 * The per-provider cases and helpers of the inbound-webhooks tests through the real route
 * (domains/inbound-webhooks/every-provider*.test.ts): how each provider's account is connected and
 * each delivery signed, with the sandbox's emitters.
 */
export const APP_SECRETS = { xero: `xero-key-${randomBytes(8).toString('hex')}`, quickbooks: `qb-verifier-${randomBytes(8).toString('hex')}`, messenger: `meta-${randomBytes(8).toString('hex')}`, slack: `slack-${randomBytes(8).toString('hex')}` };
export const VERIFY_TOKEN = `vt-${randomBytes(8).toString('hex')}`;
export const SHOPIFY_SECRET = appFor('shopify').clientSecret; // Shopify signs webhooks with the app's client secret

export let h: Awaited<ReturnType<typeof oauthHarness>>;
/** Starts the harness this module's helpers use (call at a test file's top level). */
export function useWebhookHarness() {
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
}

export type Sent = { headers: Record<string, string>; body: string | Buffer };
export type Conn = { id: string; key: string; url: string; secret: string };
export type SignOpts = { id: string; at: Date; forged?: boolean };
export type Case = {
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

export const post = (url: string, d: Sent) => h.t.app.inject({ method: 'POST', url, headers: d.headers, payload: d.body });
export const now = () => h.t.clock();
export const uid = () => randomBytes(6).toString('hex');

export async function connectionOf(tenantId: string, provider: string) {
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
export const oauthConnect = (provider: keyof typeof APP_SECRETS) => async (acct: Account): Promise<Conn> => {
  const res = await h.connect(acct, provider, { consent: { sandbox_account: `acct-${uid()}`, sandbox_count: '1' } });
  expect(res.statusCode, res.body).toBe(302);
  const { id, key } = await connectionOf(acct.tenantId, provider);
  expect(key).toBeTruthy();
  return { id, key, url: `/api/webhooks/${provider}`, secret: APP_SECRETS[provider] };
};

/** Connection level: an API-key connection with the adapter's signing-secret field set; deliveries go to its own URL. */
export const apiKeyConnect = (provider: string, secret: () => string, base: () => { apiKey: string; apiSecret?: string; additionalConfig?: Record<string, string> }) => async (acct: Account, withoutSecret?: boolean): Promise<Conn> => {
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
export const fromCredentials = (provider: string) => () => {
  const body = credentialsFor(provider).body as { apiKey: string; apiSecret?: string; additionalConfig?: Record<string, string> };
  return body;
};
export const newWhsecSecret = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
export const wrong = (c: Conn, forged?: boolean) => (forged ? `${c.secret}-not` : c.secret);

export const wiseKeys = wiseWebhookKeyPair();
export const wiseForger = wiseWebhookKeyPair();
export const ASSEMBLYAI_HEADER = 'X-Webhook-Secret';
/** A Wise notification about resource `o.id` (Wise's body names no event id: what changed tells events apart). */
const wiseNotification = (o: SignOpts, privateKey: typeof wiseKeys.privateKey) => wiseDelivery({
  privateKey, at: o.at,
  event: { deliveryId: o.id, type: 'transfers#state-change', data: { resource: { id: o.id, type: 'transfer' }, current_state: 'outgoing_payment_sent', occurred_at: o.at.toISOString() } },
});

export const CASES: Record<string, Case> = {
  shopify: {
    async connect(acct) {
      const storeDomain = `store-${uid()}.myshopify.com`;
      const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: `shpat_${uid()}`, additionalConfig: { storeDomain } } });
      expect(res.statusCode, res.body).toBe(201);
      return { id: res.json().data.id, key: storeDomain, url: '/api/webhooks/shopify', secret: SHOPIFY_SECRET };
    },
    sign: (c, o) => shopifyWebhookDelivery({ secret: wrong(c, o.forged), shop: c.key, topic: 'orders/create', body: { id: o.id }, eventId: o.id, at: o.at }),
    expected: (_c, o) => ({ topic: 'orders/create', externalId: shopifyEventId('orders/create', Buffer.from(JSON.stringify({ id: o.id }))) }),
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
    sign: (_c, o) => wiseNotification(o, o.forged ? wiseForger.privateKey : wiseKeys.privateKey),
    expected: (_c, o) => ({ topic: 'transfers#state-change', externalId: wiseEventId(JSON.parse(wiseNotification(o, wiseKeys.privateKey).body)) }),
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

export const rowsOf = (tenantId: string) =>
  h.t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['connection_id', 'provider', 'topic', 'external_id']).orderBy('received_at').execute())
    .then((rows) => rows.map((r) => [r.connection_id, r.provider, r.topic, r.external_id]));
export const refused = async (url: string, d: Sent, what: string) => {
  const res = await post(url, d);
  expect([res.statusCode, res.json().code], `${what}: ${res.body}`).toEqual([401, 'WEBHOOK_SIGNATURE_INVALID']);
};
/** The signed body with one field added by someone on the way (still valid JSON, same headers). */
export const tamper = (d: Sent): Sent => {
  const text = Buffer.from(d.body).toString('utf8');
  expect(text.startsWith('{') || text.startsWith('[{')).toBe(true);
  return { headers: d.headers, body: text.replace('{', '{"injected":true,') };
};
/** keyhold_webhooks_total by outcome for one provider (this file's app only). */
export async function metrics(provider: string): Promise<Record<string, number>> {
  const { values } = await h.t.services.metrics.registry.getSingleMetric('keyhold_webhooks_total')!.get();
  return Object.fromEntries(values.filter((v) => v.labels.provider === provider).map((v) => [String(v.labels.outcome), v.value]));
}
export const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v !== 0));
export async function quarantined(routingKey: string) {
  const c = await adminClient();
  try {
    return (await c.query('select provider, external_id from inbound_quarantine where routing_key = $1', [routingKey])).rows;
  } finally {
    await c.end();
  }
}

