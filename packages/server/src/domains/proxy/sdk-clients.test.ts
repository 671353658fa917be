import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { IntegrationNotConfigured, Keyhold, KeyholdError } from '@keyhold/sdk';
import { getTenantAnthropicClient } from '@keyhold/sdk/anthropic';
import { getTenantOpenAIClient } from '@keyhold/sdk/openai';
import { requireTenantResendClient } from '@keyhold/sdk/resend';
import { getTenantStripeClient, requireTenantStripeClient, stripeOptionsFor } from '@keyhold/sdk/stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, enrolMfa, signup, createApiKey } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { testApp } from '../../test-support/index.js';

let sandbox: Sandbox;
let t: Awaited<ReturnType<typeof testApp>>;
let baseUrl: string;
let port: number;
beforeAll(async () => {
  sandbox = await createSandbox();
  port = Number(new URL(sandbox.url).port);
  t = await testApp({ providerBaseUrls: Object.fromEntries(sandbox.providers().map((p) => [p, sandbox.baseUrlFor(p)])) });
  baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await t.close();
  await sandbox.close();
});

async function tenantWith(providers: string[]) {
  const acct = await signup(t.app);
  const keys: Record<string, Record<string, string>> = {};
  for (const p of providers) {
    const { body, seed } = credentialsFor(p);
    sandbox.seed(p, seed);
    keys[p] = seed;
    const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: p, ...body } });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
  const apiKey = (await createApiKey(t.app, t.clock, acct, { name: 'sdk', scopes: ['credentials:read', 'proxy'] })).key as string;
  return { acct, keys, keyhold: new Keyhold({ baseUrl, apiKey }) };
}

/**
 * No base URL of the caller's: the clients go where the server's catalog points (the sandbox,
 * `<sandbox>/stripe` with its path, as on `npm run demo`), from the credential read's `baseUrl`.
 */
const stripeAtSandbox = () => ({ maxAgeMs: 0 });

describe('per-tenant official clients', () => {
  it('getTenantStripeClient: the official stripe client with the tenant’s own key works; null or a typed error when not connected', async () => {
    const a = await tenantWith(['stripe']);
    const stripe = await requireTenantStripeClient(a.keyhold, a.acct.slug, stripeAtSandbox());
    const created = await stripe.customers.create({ email: 'buyer@example.com', name: 'Buyer' });
    expect(created.id).toMatch(/^cus_/);
    const list = await stripe.customers.list({ limit: 10 });
    expect(list.data.map((c) => c.id)).toContain(created.id);
    const pi = await stripe.paymentIntents.create({ amount: 1999, currency: 'usd' });
    expect(pi).toMatchObject({ object: 'payment_intent', amount: 1999, currency: 'usd' });

    const b = await tenantWith([]);
    expect(await getTenantStripeClient(b.keyhold, b.acct.slug, stripeAtSandbox())).toBeNull();
    const err = await requireTenantStripeClient(b.keyhold, b.acct.slug, stripeAtSandbox()).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrationNotConfigured);
    expect(err.actions[0].label).toBe('Connect stripe');
  });

  it('caches per tenant + credential version, never across tenants, and rebuilds after a rotation', async () => {
    const a = await tenantWith(['stripe']);
    const b = await tenantWith(['stripe']);
    const a1 = await getTenantStripeClient(a.keyhold, a.acct.slug, stripeAtSandbox());
    const a2 = await getTenantStripeClient(a.keyhold, a.acct.slug, stripeAtSandbox());
    const b1 = await getTenantStripeClient(b.keyhold, b.acct.slug, stripeAtSandbox());
    expect(a2).toBe(a1);
    expect(b1).not.toBe(a1);
    // A tenant key cannot be pointed at another tenant.
    await expect(getTenantStripeClient(a.keyhold, b.acct.slug, stripeAtSandbox())).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });

    // Rotate A's key (owner + MFA): the next client is a new one, with the new key.
    const code = await enrolMfa(t.app, t.clock, a.acct as Account);
    const { body, seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    const id = (await t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(a.acct.accessToken) })).json().data[0].id;
    const rotated = await t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}`, headers: { ...bearer(a.acct.accessToken), 'x-mfa-code': await code() }, payload: { apiKey: body.apiKey } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const a3 = await getTenantStripeClient(a.keyhold, a.acct.slug, stripeAtSandbox());
    expect(a3).not.toBe(a1);
    expect((await a3!.balance.retrieve()).object).toBe('balance');
  });

  it('openai, anthropic and resend factories give working official clients', async () => {
    const a = await tenantWith(['openai', 'anthropic', 'resend']);
    const openai = await getTenantOpenAIClient(a.keyhold, a.acct.slug);
    const chat = await openai!.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0]?.message.role).toBe('assistant');
    const anthropic = await getTenantAnthropicClient(a.keyhold, a.acct.slug);
    const msg = await anthropic!.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.type).toBe('message');
    const resend = await requireTenantResendClient(a.keyhold, a.acct.slug);
    const sent = await resend.emails.send({ from: 'shop@acme.example', to: 'buyer@example.com', subject: 'Hi', text: 'Thanks' });
    expect(sent.error).toBeNull();
    expect(sent.data?.id).toBeTruthy();
    // The calls above reached the sandbox, not the real APIs.
    expect(sandbox.requests().map((r) => `${r.provider} ${r.path}`)).toEqual(expect.arrayContaining(['openai /v1/chat/completions', 'anthropic /v1/messages', 'resend /emails']));
  });

  it("a caller's own client options still win over the server's base URL", async () => {
    const a = await tenantWith(['stripe']);
    // The sandbox also answers Stripe's /v1/… at its root; a path-less host proves these options were used.
    const stripe = await requireTenantStripeClient(a.keyhold, a.acct.slug, { client: { host: '127.0.0.1', port, protocol: 'http' }, maxAgeMs: 0 });
    const before = sandbox.requests().length;
    expect((await stripe.balance.retrieve()).object).toBe('balance');
    expect(sandbox.requests().slice(before).map((r) => r.path)).toEqual(['/v1/balance']);
    // Production: the real Stripe host, port 443, Stripe's own transport (no path to keep).
    expect(stripeOptionsFor('https://api.stripe.com')).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
    expect(stripeOptionsFor(null)).toEqual({});
  });
});

describe('keyhold.proxyFetch', () => {
  it("returns the provider's response; Keyhold's own refusals throw typed errors", async () => {
    const a = await tenantWith(['stripe']);
    const res = await a.keyhold.proxyFetch('stripe', '/v1/balance');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('balance');
    await expect(a.keyhold.proxyFetch('xero', '/connections')).rejects.toBeInstanceOf(IntegrationNotConfigured);
    const err = await a.keyhold.proxyFetch('stripe', '/../v1/balance').catch((e) => e);
    expect(err).toBeInstanceOf(KeyholdError);
  });
});
