import { standardWebhookHeaders } from './standard-webhooks.js';

/**
 * A Resend webhook delivery as Svix signs it (`svix-id`, `svix-timestamp`, `svix-signature`).
 * https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests
 */
export type ResendEvent = { type: string; data?: Record<string, unknown> };

export function resendDelivery(opts: { secret: string; id: string; event: ResendEvent; at: Date; extraSecrets?: string[] }): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ type: opts.event.type, created_at: opts.at.toISOString(), data: opts.event.data ?? { email_id: 'em_1' } });
  return { headers: { 'content-type': 'application/json', ...standardWebhookHeaders('svix', { secrets: [opts.secret, ...(opts.extraSecrets ?? [])], id: opts.id, at: opts.at, body }) }, body };
}
