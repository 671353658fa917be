import { createHmac } from 'node:crypto';

/**
 * An Unleashed webhook delivery: `x-unleashed-signature` = base64 HMAC-SHA256 of
 * `"<x-unleashed-timestamp>.<body>"` with the subscription's signing key.
 * https://apidocs.unleashedsoftware.com/Webhooks (see docs/providers/unleashed.md for what is confirmed).
 */
export type UnleashedEvent = { eventNotificationId: string; eventType: string; resourceGuid?: string };

export function unleashedDelivery(opts: { signingKey: string; event: UnleashedEvent; at: Date }): { headers: Record<string, string>; body: string } {
  const t = Math.floor(opts.at.getTime() / 1000);
  const body = JSON.stringify({
    subscriptionId: 'sub-1',
    eventNotificationId: opts.event.eventNotificationId,
    eventType: opts.event.eventType,
    createdOn: opts.at.toISOString(),
    data: { guid: opts.event.resourceGuid ?? '00000000-0000-0000-0000-000000000001' },
  });
  return {
    headers: { 'content-type': 'application/json', 'x-unleashed-timestamp': String(t), 'x-unleashed-signature': createHmac('sha256', opts.signingKey).update(`${t}.${body}`).digest('base64') },
    body,
  };
}
