import type { WebhookEvent, WebhookHooks } from '../adapter.js';
import { derivedEventId, isRecord, malformedBody, parseJsonBody, stringOf, verifyBodyHmac } from '../shared/app-webhook.js';

/*
 * QuickBooks Online webhooks (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks):
 * one URL per app, for every connected company; `intuit-signature` is
 * base64(HMAC-SHA256(verifier token, raw body)), the same in both payload formats.
 * - Legacy: `{ eventNotifications: [{ realmId, dataChangeEvent: { entities: [{ name, id, operation, lastUpdated, deletedId? }] } }] }`.
 * - CloudEvents (mandatory since 2026, https://blogs.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure/ ,
 *   https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects): a JSON array of
 *   `{ specversion: '1.0', id, source, type: 'qbo.<entity>.<operation>.v1', time, intuitentityid, intuitaccountid, datacontenttype?, data? }`,
 *   where `intuitaccountid` is the realm id.
 * A delivery batches changes of several companies; each event is routed by its own realm id.
 */

function cloudEvent(item: unknown): WebhookEvent {
  if (!isRecord(item)) throw malformedBody('QuickBooks', 'has a CloudEvent that is not an object');
  const id = stringOf(item.id);
  const type = stringOf(item.type);
  const realmId = stringOf(item.intuitaccountid);
  if (!id || !type || !realmId) throw malformedBody('QuickBooks', 'has a CloudEvent without id, type or intuitaccountid');
  return { externalId: id, topic: type, routingKey: realmId, payload: item, effect: 'changed' };
}

/**
 * The legacy format has no event id: derived from realm, entity, operation and `lastUpdated` (the
 * change's own time), so a redelivery of the same change hashes to the same id.
 */
export function legacyEntityId(realmId: string, e: Record<string, unknown>): string {
  return derivedEventId('quickbooks', realmId, stringOf(e.name), stringOf(e.id), stringOf(e.operation), stringOf(e.lastUpdated), stringOf(e.deletedId));
}

function legacyEvents(notifications: unknown[]): WebhookEvent[] {
  const out: WebhookEvent[] = [];
  for (const n of notifications) {
    if (!isRecord(n)) throw malformedBody('QuickBooks', 'has an eventNotification that is not an object');
    const realmId = stringOf(n.realmId);
    const entities = isRecord(n.dataChangeEvent) ? n.dataChangeEvent.entities : undefined;
    if (!realmId || !Array.isArray(entities)) throw malformedBody('QuickBooks', 'has an eventNotification without realmId or entities');
    for (const entity of entities) {
      if (!isRecord(entity) || !stringOf(entity.name) || !stringOf(entity.operation)) throw malformedBody('QuickBooks', 'has an entity without name or operation');
      out.push({
        externalId: legacyEntityId(realmId, entity),
        topic: `${stringOf(entity.name)}.${stringOf(entity.operation)}`,
        routingKey: realmId,
        payload: { realmId, entity },
        effect: 'changed',
      });
    }
  }
  return out;
}

export const quickbooksWebhooks: WebhookHooks = {
  scheme: 'intuit_hmac_base64',
  level: 'app',
  verify: (req, secrets) => verifyBodyHmac(req.raw, req.headers['intuit-signature'], secrets, 'base64'),
  events(req) {
    const body = parseJsonBody(req.raw, 'QuickBooks');
    if (Array.isArray(body)) return body.map(cloudEvent);
    if (isRecord(body) && Array.isArray(body.eventNotifications)) return legacyEvents(body.eventNotifications);
    throw malformedBody('QuickBooks', 'is neither a CloudEvents array nor eventNotifications');
  },
};
