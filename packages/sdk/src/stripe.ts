/**
 * `@keyhold/sdk/stripe`: the official Stripe client, configured with the tenant's own key.
 *
 * @example
 * const stripe = await requireTenantStripeClient(keyhold, tenantId);
 * await stripe.customers.list({ limit: 10 });
 */
import Stripe from 'stripe';
import type { Keyhold } from './index.js';
import { type TenantClientOptions, tenantClients } from './tenant-clients.js';

type StripeOptions = NonNullable<ConstructorParameters<typeof Stripe>[1]>;
const stripe = tenantClients('stripe', (c, o: StripeOptions | undefined) => new Stripe(c.credentials.apiKey, { maxNetworkRetries: 1, ...o }));

/** The tenant's Stripe client, or null when the tenant has not connected Stripe. */
export const getTenantStripeClient: (keyhold: Keyhold, tenant: string, opts?: TenantClientOptions & { client?: StripeOptions }) => Promise<Stripe | null> = stripe.get;
/** The tenant's Stripe client; throws `IntegrationNotConfigured` (with a "Connect Stripe" action) when there is none. */
export const requireTenantStripeClient: (keyhold: Keyhold, tenant: string, opts?: TenantClientOptions & { client?: StripeOptions }) => Promise<Stripe> = stripe.require;
