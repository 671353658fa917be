import { randomBytes } from 'node:crypto';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { Webhook } from 'standardwebhooks';
import { vi } from 'vitest';
import { Secret } from '../platform/crypto/secret.js';
import { type Account, bearer, enrolMfa, signup } from './accounts.js';
import { adminQuery } from './oauth.js';
import { type TestApp, type TestOptions, migratedScratch, testApp } from './index.js';

/**
 * Outbound webhooks under test: the app on a database of its own (the outbox drain and the sender
 * work across tenants), the sandbox playing tenants' endpoints and the platform's email sender
 * (its Resend, inbox captured), loopback allowed as an operator would for local development, and
 * jitter pinned to none (random 0.5).
 */
export async function outboundHarness(opts: TestOptions = {}) {
  const scratch = await migratedScratch();
  const sandbox = await createSandbox();
  const platformKey = `re_platform_${randomBytes(12).toString('hex')}`;
  sandbox.seed('resend', { apiKey: platformKey });
  const email = { provider: 'resend' as const, apiKey: new Secret(platformKey), from: 'Keyhold <no-reply@keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') };
  const t = await testApp({ db: scratch.db, allowPrivateProviderUrls: true, deliveries: { random: () => 0.5, timeoutMs: 2_000 }, email, ...opts });
  const receiver = sandbox.webhookReceiver;

  /** A signed-up owner with MFA, and a step-up code generator (each code moves the clock 30 s). */
  async function owner(): Promise<{ acct: Account; code: () => Promise<string> }> {
    const acct = await signup(t.app);
    return { acct, code: await enrolMfa(t.app, t.clock, acct) };
  }
  async function createEndpoint(o: { acct: Account; code: () => Promise<string> }, body: Record<string, unknown>) {
    const res = await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, payload: body });
    if (res.statusCode !== 201) throw new Error(`endpoint not created: ${res.body}`);
    return res.json().data as { id: string; secret: string; url: string };
  }
  /** `n` outbox events (connection.created) for the tenant. */
  async function emit(tenantId: string, n = 1) {
    const stripe = t.services.catalog.get('stripe');
    for (let i = 0; i < n; i++) {
      await scratch.db.withTenant(tenantId, (tx) =>
        t.services.store.create(tx, { tenantId, provider: stripe, label: `l-${crypto.randomUUID().slice(0, 8)}`, secrets: { apiKey: 'sk_test_x' }, config: {}, status: 'active', createdBy: null }, { source: 'credentials' }));
    }
  }
  /** `n` outbox events written straight to the table (past a plan's connection limit; the payload is a valid one). */
  async function emitMany(tenantId: string, n: number) {
    await adminQuery(scratch.adminUrl,
      `insert into events (id, tenant_id, type, subject, payload, created_at)
       select gen_random_uuid(), $1, 'connection.needs_reauth', jsonb_build_object('connectionId', gen_random_uuid(), 'provider', 'stripe', 'label', 'l' || i),
              '{"from":"active","to":"needs_reauth","source":"refresh","error":"invalid_grant"}'::jsonb, $2 from generate_series(1, $3) i`,
      [tenantId, t.clock(), n]);
  }
  /** Drain the outbox into deliveries, then send what is due. */
  async function flush() {
    await t.services.events.drain();
    return t.services.webhookDeliveries.sendDue();
  }
  /** `who`: an account (its 15-minute access token) or an API key (for tests that move the clock by days). */
  const deliveriesOf = async (who: Account | string, endpointId: string, query = '') =>
    (await t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${endpointId}/deliveries${query}`, headers: bearer(typeof who === 'string' ? who : who.accessToken) })).json();
  return {
    t, sandbox, receiver, owner, createEndpoint, emit, emitMany, flush, deliveriesOf,
    /** Owner-level rows of the harness's database (RLS does not apply). */
    query: <T>(sql: string, params: unknown[] = []) => adminQuery(scratch.adminUrl, sql, params) as Promise<T[]>,
    async close() {
      await t.close();
      await sandbox.close();
      await scratch.drop();
    },
  };
}
export type OutboundHarness = Awaited<ReturnType<typeof outboundHarness>>;
export type { Sandbox };

/** Verifies with the `standardwebhooks` package (an independent implementation) as of `at` (its 5-minute tolerance). */
export function verifyWith(secret: string, d: { headers: Record<string, string>; body: string }, at: Date): unknown {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  try {
    return new Webhook(secret).verify(d.body, { 'webhook-id': d.headers['webhook-id']!, 'webhook-timestamp': d.headers['webhook-timestamp']!, 'webhook-signature': d.headers['webhook-signature']! });
  } finally {
    vi.useRealTimers();
  }
}
