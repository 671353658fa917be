import type { MessagingHooks } from '../adapter.js';

const objectOf = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * Sending one email: `POST /emails` with from, to, subject, html and text; the answer's `id` names
 * the message in later webhooks. `Idempotency-Key` makes a retry of the same message (after a
 * timeout or a crash) a no-op at Resend for 24 hours.
 * https://resend.com/docs/api-reference/emails/send-email,
 * https://resend.com/docs/dashboard/emails/idempotency-keys
 */
export const resendEmail: NonNullable<MessagingHooks['email']> = {
  send: (msg) => ({
    method: 'POST',
    path: '/emails',
    headers: { 'content-type': 'application/json', 'idempotency-key': msg.idempotencyKey },
    body: JSON.stringify({ from: msg.from, to: [msg.to], subject: msg.subject, html: msg.html, text: msg.text }),
  }),
  messageId: (answer) => {
    const id = objectOf(answer).id;
    return typeof id === 'string' && id.length <= 200 ? id : null;
  },
  platformAuth: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
};

/**
 * `email.bounced` names the message it is about in `data.email_id`.
 * https://resend.com/docs/dashboard/webhooks/event-types#email-bounced
 */
export function resendDeliveryStatus(topic: string, payload: unknown): { messageId: string; status: 'bounced' } | null {
  if (topic !== 'email.bounced') return null;
  const id = objectOf(objectOf(payload).data).email_id;
  return typeof id === 'string' && id !== '' && id.length <= 200 ? { messageId: id, status: 'bounced' } : null;
}
