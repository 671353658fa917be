import { createHmac } from 'node:crypto';

/**
 * Meta webhook deliveries for Messenger (https://developers.facebook.com/docs/graph-api/webhooks/getting-started ,
 * https://developers.facebook.com/docs/messenger-platform/webhooks): `{ object: 'page', entry: [...] }`
 * signed with the app secret, `x-hub-signature-256: sha256=<hex>`. Meta sends non-ASCII characters
 * escaped (`\u00e9`) and signs those bytes; so does this emitter. Pure: the same inputs give the same bytes.
 */
export type MessengerMessaging = { sender: { id: string }; recipient: { id: string }; timestamp: number } & Record<string, unknown>;
export type MessengerEntry = { id: string; time: number; messaging?: MessengerMessaging[]; changes?: Array<{ field: string; value: unknown }> };
export type MessengerDelivery = { headers: Record<string, string>; body: string };

/** A message from a person (PSID `senderId`) to the Page. */
export function messengerMessage(input: { pageId: string; senderId: string; text: string; mid: string; at: Date }): MessengerMessaging {
  return { sender: { id: input.senderId }, recipient: { id: input.pageId }, timestamp: input.at.getTime(), message: { mid: input.mid, text: input.text } };
}

export function messengerEntry(pageId: string, at: Date, messaging: MessengerMessaging[]): MessengerEntry {
  return { id: pageId, time: at.getTime(), messaging };
}

const escapeNonAscii = (json: string) => json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export const metaSignature = (appSecret: string, body: string) => `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;

/** One signed delivery; Meta batches entries of several Pages into one. */
export function messengerWebhookDelivery(appSecret: string, entries: MessengerEntry[]): MessengerDelivery {
  const body = escapeNonAscii(JSON.stringify({ object: 'page', entry: entries }));
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(appSecret, body) }, body };
}

/** The query of Meta's verification request (`GET <callback URL>?hub.mode=subscribe&…`). */
export function messengerSubscribeQuery(verifyToken: string, challenge: string): Record<string, string> {
  return { 'hub.mode': 'subscribe', 'hub.verify_token': verifyToken, 'hub.challenge': challenge };
}
