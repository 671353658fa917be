import type { ProviderAdapter } from '../adapter.js';
import { resendEmail } from './email.js';
import { resendWebhooks } from './webhooks.js';

/** Resend is described as data (a bearer API key) except for its Svix-signed webhooks and sending email. */
export const resend: ProviderAdapter = {
  id: 'resend',
  webhooks: resendWebhooks,
  messaging: { email: resendEmail },
};
