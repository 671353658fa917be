import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto';

/**
 * A Wise webhook delivery: `X-Signature-SHA256` = base64 RSA-SHA256 (PKCS#1 v1.5) signature of the
 * raw body with Wise's private key; `X-Delivery-Id` unique per notification.
 * https://docs.wise.com/guides/developer/webhooks/event-handling
 * The sandbox cannot hold Wise's key: it has its own pair (`wiseWebhookKeyPair`), whose public PEM
 * a test connection is given instead of Wise's published key.
 */
export type WiseEvent = { deliveryId: string; type: string; data?: Record<string, unknown> };

export function wiseWebhookKeyPair(): { publicKeyPem: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

export function wiseDelivery(opts: { privateKey: KeyObject; event: WiseEvent; at: Date }): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({
    data: opts.event.data ?? { resource: { id: 1, profile_id: 2, type: 'transfer' }, current_state: 'outgoing_payment_sent', occurred_at: opts.at.toISOString() },
    subscription_id: '01234567-89ab-cdef-0123-456789abcdef',
    event_type: opts.event.type,
    schema_version: '2.0.0',
    sent_at: opts.at.toISOString(),
  });
  return {
    headers: { 'content-type': 'application/json', 'x-delivery-id': opts.event.deliveryId, 'x-signature-sha256': sign('sha256', Buffer.from(body), opts.privateKey).toString('base64') },
    body,
  };
}
