import { randomBytes } from 'node:crypto';
import { resendDelivery, stripeWebhookDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { type Account, bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { type TestApp, adminClient, useTestApp } from '../../test-support/index.js';

/**
 * A tenant rotating a connection's webhook signing secret: the replaced one keeps verifying for
 * the overlap window (KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS, 24 here), then stops; only a change of
 * the signing field opens a window, and the replaced secret is stored like every secret.
 */
let t: TestApp;
useTestApp((x) => (t = x));

const HOUR = 3_600_000;
const stripeSecret = () => `whsec_${randomBytes(16).toString('hex')}`;
const resendSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const label = () => `r${randomBytes(3).toString('hex')}`;

async function connect(acct: Account, serviceName: string, apiKey: string, webhookSecret: string) {
  const res = await t.app.inject({
    method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken),
    payload: { serviceName, apiKey, label: label(), additionalConfig: { webhookSecret } },
  });
  expect(res.statusCode, res.body).toBe(201);
  const data = res.json().data as { id: string; webhook_url: string };
  return { id: data.id, url: new URL(data.webhook_url).pathname };
}

async function rotate(acct: Account, id: string, change: Record<string, unknown>) {
  const nextCode = await enrolMfa(t.app, t.clock, acct);
  const res = await t.app.inject({
    method: 'PUT', url: `/api/api-credentials/${id}?verify=false`, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await nextCode() }, payload: change,
  });
  expect(res.statusCode, res.body).toBe(200);
}

const post = (url: string, d: { headers: Record<string, string>; body: string | Buffer }) => t.app.inject({ method: 'POST', url, headers: d.headers, payload: d.body });
const stripeSigned = (secrets: string[]) => stripeWebhookDelivery({ secrets, type: 'invoice.paid', eventId: `evt_${randomBytes(8).toString('hex')}`, at: t.clock() });
const statusOf = async (url: string, secrets: string[]) => (await post(url, stripeSigned(secrets))).statusCode;
const stripeKey = () => `sk_test_${randomBytes(12).toString('hex')}`;

async function previousColumns(id: string) {
  const c = await adminClient();
  try {
    return (await c.query('select previous_webhook_secret, webhook_secret_replaced_at from connections where id = $1', [id])).rows[0] as { previous_webhook_secret: string | null; webhook_secret_replaced_at: Date | null };
  } finally {
    await c.end();
  }
}

describe('rotating a connection\'s webhook signing secret', () => {
  it('Stripe: old and new both verify for 24 h after the rotation (also both v1 of a Stripe roll), then only the new one', async () => {
    const acct = await signup(t.app);
    const [oldSecret, newSecret] = [stripeSecret(), stripeSecret()];
    const conn = await connect(acct, 'stripe', stripeKey(), oldSecret);
    expect(await statusOf(conn.url, [newSecret])).toBe(401);
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: newSecret } });

    expect(await statusOf(conn.url, [oldSecret])).toBe(200);
    expect(await statusOf(conn.url, [newSecret])).toBe(200);
    expect(await statusOf(conn.url, [newSecret, oldSecret])).toBe(200);
    expect(await statusOf(conn.url, [stripeSecret()])).toBe(401);

    t.clock.advance(23 * HOUR);
    expect(await statusOf(conn.url, [oldSecret])).toBe(200);
    t.clock.advance(1 * HOUR + 60_000);
    expect(await statusOf(conn.url, [oldSecret])).toBe(401);
    expect(await statusOf(conn.url, [newSecret])).toBe(200);
    expect(await statusOf(conn.url, [newSecret, oldSecret])).toBe(200);
  });

  it('the replaced secret is a vault ciphertext; no event, audit entry, log line or response carries either secret', async () => {
    const acct = await signup(t.app);
    const [oldSecret, newSecret] = [stripeSecret(), stripeSecret()];
    const conn = await connect(acct, 'stripe', stripeKey(), oldSecret);
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: newSecret } });
    const cols = await previousColumns(conn.id);
    expect(cols.previous_webhook_secret).toMatch(/^kh1\.\d+\./);
    expect(cols.previous_webhook_secret).not.toContain(oldSecret.slice(6));
    expect(cols.webhook_secret_replaced_at).toBeInstanceOf(Date);
    const shown = await t.app.inject({ method: 'GET', url: `/api/api-credentials/${conn.id}`, headers: bearer(acct.accessToken) });
    const written = await t.db.withTenant(acct.tenantId, async (tx) => [
      await tx.selectFrom('events').selectAll().execute(),
      await tx.selectFrom('connection_events').selectAll().execute(),
      await tx.selectFrom('audit_logs').selectAll().execute(),
    ]);
    for (const text of [JSON.stringify(written), shown.body, t.logs.text()]) {
      expect(text).not.toContain(oldSecret);
      expect(text).not.toContain(newSecret);
    }
  });

  it("another field's change opens no window: the API key rotated after the window leaves the old webhook secret refused", async () => {
    const acct = await signup(t.app);
    const [oldSecret, newSecret] = [stripeSecret(), stripeSecret()];
    const conn = await connect(acct, 'stripe', stripeKey(), oldSecret);
    await rotate(acct, conn.id, { apiKey: stripeKey() });
    expect(await previousColumns(conn.id)).toEqual({ previous_webhook_secret: null, webhook_secret_replaced_at: null });
    expect(await statusOf(conn.url, [oldSecret])).toBe(200);

    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: newSecret } });
    t.clock.advance(25 * HOUR);
    expect(await statusOf(conn.url, [oldSecret])).toBe(401);
    // The session has expired by now: the same write the credentials API makes, through the store.
    await t.db.withTenant(acct.tenantId, async (tx) => {
      const row = (await t.services.store.byId(tx, conn.id))!;
      const secrets = { ...(await t.services.store.secretsOf(tx, row)), apiKey: stripeKey() };
      await t.services.store.update(tx, row, { secrets }, { reason: 'rotated', detail: { source: 'credentials', fields: ['apiKey'] } });
    });
    expect(await statusOf(conn.url, [oldSecret])).toBe(401);
    expect(await statusOf(conn.url, [newSecret])).toBe(200);
  });

  it('Resend (Standard Webhooks): both secrets are passed, so old-only, new-only and both-signed deliveries verify in the window', async () => {
    const acct = await signup(t.app);
    const [oldSecret, newSecret] = [resendSecret(), resendSecret()];
    const conn = await connect(acct, 'resend', `re_${randomBytes(12).toString('hex')}`, oldSecret);
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: newSecret } });
    const send = (secret: string, extraSecrets: string[] = []) =>
      post(conn.url, resendDelivery({ secret, extraSecrets, id: `msg_${randomBytes(8).toString('hex')}`, event: { type: 'email.delivered' }, at: t.clock() }));
    expect((await send(oldSecret)).statusCode).toBe(200);
    expect((await send(newSecret)).statusCode).toBe(200);
    expect((await send(newSecret, [oldSecret])).statusCode).toBe(200);
    t.clock.advance(24 * HOUR + 60_000);
    expect((await send(oldSecret)).statusCode).toBe(401);
    expect((await send(newSecret, [oldSecret])).statusCode).toBe(200);
  });

  it('a rotation within the window keeps only the secret it replaced (two secrets, never three)', async () => {
    const acct = await signup(t.app);
    const [first, second, third] = [stripeSecret(), stripeSecret(), stripeSecret()];
    const conn = await connect(acct, 'stripe', stripeKey(), first);
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: second } });
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: third } });
    expect([await statusOf(conn.url, [first]), await statusOf(conn.url, [second]), await statusOf(conn.url, [third])]).toEqual([401, 200, 200]);
  });

  it('a disconnect keeps no secret verifying, not even the replaced one', async () => {
    const acct = await signup(t.app);
    const [oldSecret, newSecret] = [stripeSecret(), stripeSecret()];
    const conn = await connect(acct, 'stripe', stripeKey(), oldSecret);
    await rotate(acct, conn.id, { additionalConfig: { webhookSecret: newSecret } });
    await t.db.withTenant(acct.tenantId, (tx) => t.services.store.disconnect(tx, { id: conn.id }, { source: 'webhook', revocation: 'not_supported' }));
    expect(await previousColumns(conn.id)).toEqual({ previous_webhook_secret: null, webhook_secret_replaced_at: null });
    expect([await statusOf(conn.url, [oldSecret]), await statusOf(conn.url, [newSecret])]).toEqual([401, 401]);
  });
});
