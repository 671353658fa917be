/**
 * `@keyhold/sdk/stripe`: the official Stripe client, configured with the tenant's own key and
 * pointed at the Stripe API this Keyhold is configured with (the sandbox on `npm run demo`).
 *
 * @example
 * const stripe = await requireTenantStripeClient(keyhold, tenantId);
 * await stripe.customers.list({ limit: 10 });
 */
import Stripe from 'stripe';
import type { Keyhold } from './index.js';
import { type TenantClientOptions, tenantClients } from './tenant-clients.js';

type StripeOptions = NonNullable<ConstructorParameters<typeof Stripe>[1]>;

/**
 * Stripe's client takes a host, port and protocol, not a URL. A base URL with a path (a
 * sandbox or gateway serving Stripe under `/stripe`) keeps it: requests go through Stripe's own
 * HTTP client with the path in front of Stripe's `/v1/…`.
 */
export function stripeOptionsFor(baseUrl: string | null | undefined): StripeOptions {
  if (!baseUrl) return {};
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const opts: StripeOptions = { host: url.hostname, port: Number(url.port || (protocol === 'http' ? 80 : 443)), protocol };
  const prefix = url.pathname.replace(/\/+$/, '');
  if (prefix) {
    const inner = Stripe.createNodeHttpClient();
    opts.httpClient = {
      getClientName: () => inner.getClientName(),
      makeRequest: (host, port, path, ...rest) => inner.makeRequest(host, port, `${prefix}${path}`, ...rest),
    };
  }
  return opts;
}

const stripe = tenantClients('stripe', (c, o: StripeOptions | undefined) => new Stripe(c.credentials.apiKey, { maxNetworkRetries: 1, ...stripeOptionsFor(c.baseUrl), ...o }));

/** The tenant's Stripe client, or null when the tenant has not connected Stripe. */
export const getTenantStripeClient: (keyhold: Keyhold, tenant: string, opts?: TenantClientOptions & { client?: StripeOptions }) => Promise<Stripe | null> = stripe.get;
/** The tenant's Stripe client; throws `IntegrationNotConfigured` (with a "Connect Stripe" action) when there is none. */
export const requireTenantStripeClient: (keyhold: Keyhold, tenant: string, opts?: TenantClientOptions & { client?: StripeOptions }) => Promise<Stripe> = stripe.require;
