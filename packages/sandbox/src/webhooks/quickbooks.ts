import { createHmac, randomUUID } from 'node:crypto';

/**
 * QuickBooks Online webhook deliveries (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks),
 * signed with the app's verifier token: `intuit-signature: base64(HMAC-SHA256(token, body))`, in
 * the CloudEvents format (https://blogs.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure/ ,
 * https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects) or the legacy
 * `eventNotifications` one. Pure: given the same inputs (and the optional random parts), the same bytes.
 */
export type QuickbooksCloudEvent = {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype: 'application/json';
  time: string;
  intuitentityid: string;
  intuitaccountid: string;
  data?: Record<string, unknown>;
};
export type QuickbooksLegacyEntity = { name: string; id: string; operation: string; lastUpdated: string; deletedId?: string };
export type QuickbooksDelivery = { headers: Record<string, string>; body: string };

/** `entity` and `operation` in Intuit's lower-case type spelling: `qbo.invoice.updated.v1`. */
export function quickbooksCloudEvent(input: { realmId: string; entity: string; entityId: string; operation?: string; at: Date; id?: string }): QuickbooksCloudEvent {
  return {
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    source: 'intuit.sandbox',
    type: `qbo.${input.entity.toLowerCase()}.${input.operation ?? 'updated'}.v1`,
    datacontenttype: 'application/json',
    time: input.at.toISOString(),
    intuitentityid: input.entityId,
    intuitaccountid: input.realmId,
    data: {},
  };
}

export const intuitSignature = (verifierToken: string, body: string) => createHmac('sha256', verifierToken).update(body).digest('base64');

const signed = (verifierToken: string, body: string): QuickbooksDelivery => ({
  headers: { 'content-type': 'application/json', 'intuit-signature': intuitSignature(verifierToken, body) },
  body,
});

/** A CloudEvents batch: a JSON array, whose events may belong to several companies (realms). */
export const quickbooksCloudEventsDelivery = (verifierToken: string, events: QuickbooksCloudEvent[]) => signed(verifierToken, JSON.stringify(events));

export const quickbooksLegacyDelivery = (verifierToken: string, notifications: Array<{ realmId: string; entities: QuickbooksLegacyEntity[] }>) =>
  signed(verifierToken, JSON.stringify({ eventNotifications: notifications.map((n) => ({ realmId: n.realmId, dataChangeEvent: { entities: n.entities } })) }));
