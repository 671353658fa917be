/** `@keyhold/sdk/resend`: the official Resend client with the tenant's own key (and sender settings in `config`), at the Resend API this Keyhold is configured with. */
import { Resend } from 'resend';
import { tenantClients } from './tenant-clients.js';

type ResendOptions = NonNullable<ConstructorParameters<typeof Resend>[1]>;
const resend = tenantClients('resend', (c, o: ResendOptions | undefined) => new Resend(c.credentials.apiKey, { ...(c.baseUrl ? { baseUrl: c.baseUrl } : {}), ...o }));

/** The tenant's Resend client, or null when the tenant has not connected Resend. */
export const getTenantResendClient = resend.get;
/** The tenant's Resend client; throws `IntegrationNotConfigured` when there is none. */
export const requireTenantResendClient = resend.require;
