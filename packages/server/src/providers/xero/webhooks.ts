import type { WebhookEvent, WebhookHooks } from '../adapter.js';
import { derivedEventId, isRecord, malformedBody, parseJsonBody, stringOf, verifyBodyHmac } from '../shared/app-webhook.js';

/*
 * Xero webhooks (https://developer.xero.com/documentation/guides/webhooks/overview/ ,
 * payload schema: https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero-webhooks.yaml):
 * one URL per app; `x-xero-signature` is base64(HMAC-SHA256(webhook key, raw body)). A delivery is
 * `{ events: [...], firstEventSequence, lastEventSequence, entropy }`, and its events may belong
 * to several organisations (`events[].tenantId`, the connection's `xeroTenantId`).
 * Intent to receive: before a URL is enabled, Xero posts signed deliveries with no events, some
 * correctly and some wrongly signed, and expects 200 with an empty body for the former and 401
 * for the latter; every answer within 5 seconds, with no body and no cookies
 * (https://developer.xero.com/documentation/webhooks/configuring-your-server).
 */

type XeroEvent = {
  resourceUrl?: unknown;
  resourceId?: unknown;
  eventDateUtc?: unknown;
  eventType?: unknown;
  eventCategory?: unknown;
  tenantId?: unknown;
  tenantType?: unknown;
};

function deliveryOf(raw: Buffer): { events: unknown[] } {
  const body = parseJsonBody(raw, 'Xero');
  if (!isRecord(body) || !Array.isArray(body.events)) throw malformedBody('Xero', 'has no events array');
  return { events: body.events };
}

/**
 * Xero events carry no id, and `entropy` and the sequence numbers belong to the delivery, not the
 * event (docs are silent on whether a retry keeps them), so the id is derived from what names the
 * change itself: organisation, category, type, resource and the time of the change. Two changes of
 * the same resource in the same millisecond would share an id; both only say "this resource
 * changed", which the sync then reads in its current state, so nothing is lost.
 */
export function xeroEventId(e: XeroEvent): string {
  return derivedEventId('xero', stringOf(e.tenantId), stringOf(e.eventCategory), stringOf(e.eventType), stringOf(e.resourceId), stringOf(e.eventDateUtc));
}

function toEvent(item: unknown): WebhookEvent {
  if (!isRecord(item)) throw malformedBody('Xero', 'has an event that is not an object');
  const e = item as XeroEvent;
  const tenantId = stringOf(e.tenantId);
  const category = stringOf(e.eventCategory);
  const type = stringOf(e.eventType);
  if (!tenantId || !category || !type) throw malformedBody('Xero', 'has an event without tenantId, eventCategory or eventType');
  return {
    externalId: xeroEventId(e),
    topic: `${category}.${type}`,
    routingKey: tenantId,
    payload: item,
    // Organisation events (CONTACT, INVOICE, …: CREATE/UPDATE) say the organisation's data changed.
    ...(type === 'CREATE' || type === 'UPDATE' ? { effect: 'changed' as const } : {}),
  };
}

/**
 * SUBSCRIPTION events ("For application subscription-related events", tenantType APPLICATION) name
 * the app's own id as `tenantId` ("OrganisationID or ApplicationID"), per
 * https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero-webhooks.yaml . They concern the
 * Xero App Store subscription of whoever runs Keyhold's Xero app, not any tenant's organisation,
 * so no connection can match them and they would sit in quarantine for ever. Keyhold has no
 * operator-level event store, so they are dropped (the rest of the delivery is kept).
 */
const aboutTheApp = (item: unknown) => isRecord(item) && (item.eventCategory === 'SUBSCRIPTION' || item.tenantType === 'APPLICATION');

export const xeroWebhooks: WebhookHooks = {
  scheme: 'xero_hmac_base64',
  level: 'app',
  verify: (req, secrets) => verifyBodyHmac(req.raw, req.headers['x-xero-signature'], secrets, 'base64'),
  handshake(req) {
    if (req.method !== 'POST') return null;
    // Only called after verify passed: a correctly signed delivery without events is the probe.
    // A body that is not a delivery at all is left to `events`, which refuses it.
    try {
      return deliveryOf(req.raw).events.length === 0 ? { status: 200, body: '' } : null;
    } catch {
      return null;
    }
  },
  events: (req) => deliveryOf(req.raw).events.filter((item) => !aboutTheApp(item)).map(toEvent),
};
