import { createHmac, randomBytes } from 'node:crypto';

/**
 * Xero webhook deliveries as Xero sends them (https://developer.xero.com/documentation/guides/webhooks/overview/ ,
 * https://developer.xero.com/documentation/webhooks/configuring-your-server): a JSON body
 * `{ events, firstEventSequence, lastEventSequence, entropy }` signed with the app's webhook key,
 * `x-xero-signature: base64(HMAC-SHA256(key, body))`. Pure: given the same inputs (and the optional random parts), the same bytes.
 */
export type XeroWebhookEvent = {
  resourceUrl: string;
  resourceId: string;
  eventDateUtc: string;
  eventType: 'CREATE' | 'UPDATE';
  eventCategory: 'INVOICE' | 'CONTACT' | 'SUBSCRIPTION' | (string & {});
  tenantId: string;
  tenantType: 'ORGANISATION' | 'APPLICATION';
};
export type XeroDelivery = { headers: Record<string, string>; body: string };

const RESOURCE_PATHS: Record<string, string> = { INVOICE: 'Invoices', CONTACT: 'Contacts' };

export function xeroWebhookEvent(input: { tenantId: string; resourceId: string; category?: XeroWebhookEvent['eventCategory']; type?: XeroWebhookEvent['eventType']; at: Date }): XeroWebhookEvent {
  const category = input.category ?? 'INVOICE';
  return {
    resourceUrl: `https://api.xero.com/api.xro/2.0/${RESOURCE_PATHS[category] ?? category}/${input.resourceId}`,
    resourceId: input.resourceId,
    // Xero writes the UTC time without a zone designator.
    eventDateUtc: input.at.toISOString().replace(/Z$/, ''),
    eventType: input.type ?? 'UPDATE',
    eventCategory: category,
    tenantId: input.tenantId,
    tenantType: category === 'SUBSCRIPTION' ? 'APPLICATION' : 'ORGANISATION',
  };
}

export const xeroSignature = (webhookKey: string, body: string) => createHmac('sha256', webhookKey).update(body).digest('base64');

/** A signed delivery. `entropy` is random per delivery (as Xero's is) unless given. */
export function xeroWebhookDelivery(webhookKey: string, events: XeroWebhookEvent[], opts: { firstEventSequence?: number; entropy?: string } = {}): XeroDelivery {
  const first = opts.firstEventSequence ?? (events.length ? 1 : 0);
  const body = JSON.stringify({
    events,
    firstEventSequence: first,
    lastEventSequence: events.length ? first + events.length - 1 : 0,
    entropy: opts.entropy ?? randomBytes(15).toString('base64url').toUpperCase(),
  });
  return { headers: { 'content-type': 'application/json', 'x-xero-signature': xeroSignature(webhookKey, body) }, body };
}

/**
 * One request of Xero's intent-to-receive check: no events, signed correctly or (`signed: false`)
 * with a signature of the same shape under another key, which the receiver must answer with 401.
 */
export function xeroIntentToReceive(webhookKey: string, opts: { signed: boolean }): XeroDelivery {
  const probe = xeroWebhookDelivery(webhookKey, []);
  if (opts.signed) return probe;
  return { ...probe, headers: { ...probe.headers, 'x-xero-signature': xeroSignature(`${webhookKey}-not`, probe.body) } };
}
