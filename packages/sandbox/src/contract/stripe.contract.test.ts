/**
 * The official `stripe` client against the sandbox, pointed at it with its documented `host`,
 * `port` and `protocol` options (no shim): https://github.com/stripe/stripe-node#configuration
 * Webhooks (`stripe.webhooks.constructEvent`) wait for the sandbox's signed webhook emitter.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let s: Sandbox;
let port: number;
beforeAll(async () => {
  s = await createSandbox();
  port = Number(new URL(s.url).port);
});
afterAll(() => s.close());

let n = 0;
/** A fresh account (the sandbox keeps each key's objects apart) and a client for it. */
function account(mode: 'test' | 'live' = 'test', opts: Stripe.StripeConfig = {}) {
  const key = `sk_${mode}_contract${++n}${crypto.randomUUID().replace(/-/g, '')}`;
  s.seed('stripe', { apiKey: key });
  return { key, stripe: new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, ...opts }) };
}
const seenBy = (key: string) => s.requests().filter((r) => r.provider === 'stripe' && r.headers.authorization === `Bearer ${key}`);

describe('stripe (official Node client)', () => {
  it('creates customers and reads them back page by page with auto-pagination', async () => {
    const { key, stripe } = account();
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await stripe.customers.create({ email: `c${i}@example.com`, name: `Customer ${i}`, metadata: { tenant: 't1' } }));
    expect(created[0]).toMatchObject({ object: 'customer', email: 'c0@example.com', metadata: { tenant: 't1' }, livemode: false, balance: 0, delinquent: false });
    expect(created[0]!.invoice_settings).toEqual({ custom_fields: null, default_payment_method: null, footer: null, rendering_options: null });
    const before = seenBy(key).length;
    const all = await stripe.customers.list({ limit: 3 }).autoPagingToArray({ limit: 100 });
    expect(all.map((c) => c.id)).toEqual(created.map((c) => c.id).reverse()); // newest first
    expect(seenBy(key).length - before).toBe(3); // 3 + 3 + 1, following starting_after
    expect(seenBy(key).at(-1)!.query).toContain(`starting_after=${created[1]!.id}`);
    const one = await stripe.customers.retrieve(created[2]!.id);
    expect(one).toMatchObject({ id: created[2]!.id, name: 'Customer 2' });
    const missing = await stripe.customers.retrieve('cus_missing').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
  });

  it('creates, retrieves and lists payment intents; a bad parameter is a StripeInvalidRequestError naming it', async () => {
    const { stripe } = account();
    const pi = await stripe.paymentIntents.create({ amount: 1999, currency: 'EUR', allowed_payment_method_types: ['card'], metadata: { order: '42' } });
    expect(pi).toMatchObject({ object: 'payment_intent', amount: 1999, currency: 'eur', status: 'requires_payment_method', allowed_payment_method_types: ['card'], payment_method_types: ['card'], automatic_payment_methods: null, metadata: { order: '42' } });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect((await stripe.paymentIntents.retrieve(pi.id)).id).toBe(pi.id);
    const auto = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    expect(auto.automatic_payment_methods).toEqual({ allow_redirects: 'always', enabled: true });
    expect((await stripe.paymentIntents.list({ limit: 10 })).data.map((x) => x.id)).toEqual([auto.id, pi.id]);
    const bad = await stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(bad).toMatchObject({ statusCode: 400, param: 'amount' });
    // The parameter Endive replaced is unknown to the version the client pins.
    const old = await stripe.paymentIntents.create({ amount: 1, currency: 'usd', payment_method_types: ['card'] } as Stripe.PaymentIntentCreateParams).catch((e: unknown) => e);
    expect(old).toMatchObject({ statusCode: 400, message: 'Received unknown parameter: payment_method_types' });
  });

  it('sends its pinned API version, which the answer names; another apiVersion reaches the sandbox; an unknown one is refused', async () => {
    const { key, stripe } = account();
    const balance = await stripe.balance.retrieve();
    expect(balance).toMatchObject({ object: 'balance', livemode: false });
    expect(balance.lastResponse.apiVersion).toBe(Stripe.API_VERSION);
    expect(seenBy(key).at(-1)!.headers['stripe-version']).toBe(Stripe.API_VERSION);
    const older = new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', apiVersion: '2025-03-31.basil' as Stripe.LatestApiVersion });
    expect((await older.balance.retrieve()).lastResponse.apiVersion).toBe('2025-03-31.basil');
    const typo = new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', apiVersion: '2025-3-31' as Stripe.LatestApiVersion });
    const err = await typo.balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, message: 'Invalid Stripe API version: 2025-3-31' });
  });

  it('a wrong key is a StripeAuthenticationError', async () => {
    const stripe = new Stripe('sk_test_notseeded', { host: '127.0.0.1', port, protocol: 'http' });
    const err = await stripe.customers.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err).toMatchObject({ statusCode: 401 });
  });

  it('test mode allows 25 requests a second, live mode 100; the 26th test call is a StripeRateLimitError, not retried', async () => {
    const test = account('test', { maxNetworkRetries: 2 });
    const live = account('live');
    const burst = (c: Stripe) => Promise.allSettled(Array.from({ length: 26 }, () => c.balance.retrieve()));
    const [t, l] = await Promise.all([burst(test.stripe), burst(live.stripe)]);
    const limited = t.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Stripe.errors.StripeError);
    expect(limited).toHaveLength(1);
    expect(limited[0]).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(limited[0]!.headers?.['stripe-rate-limited-reason']).toBe('global-rate');
    // stripe-node retries a 429 only when Stripe-Should-Retry says so; Stripe documents no such header on limits.
    expect(seenBy(test.key)).toHaveLength(26);
    expect(l.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(((l[0] as PromiseFulfilledResult<Stripe.Balance>).value).livemode).toBe(true);
  });
});
