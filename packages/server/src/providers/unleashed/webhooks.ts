import { createHash } from 'node:crypto';
import type { WebhookHooks } from '../adapter.js';
import { ACCEPT, anyMatch, configured, decodeSignature, hmacSha256, jsonBody, refuse, text, unixSeconds, withinWindow } from '../shared/signed-webhooks.js';

/**
 * Unleashed's webhook subscriptions (https://apidocs.unleashedsoftware.com/Webhooks, "Verifying
 * Webhook Signatures") sign each delivery with the subscription's signing key, returned once when
 * the subscription is created. The page's section could not be read in full when this was
 * written; the wire details below are those independent integrations of that page agree on:
 * `x-unleashed-signature` = base64 HMAC-SHA256 of `"<x-unleashed-timestamp>.<raw body>"`,
 * `x-unleashed-timestamp` in unix seconds, deliveries older than 5 minutes refused.
 * docs/providers/unleashed.md says what is confirmed and what is not.
 */
export const UNLEASHED_TOLERANCE_S = 300;

export const unleashedWebhooks: WebhookHooks = {
  scheme: 'unleashed_hmac',
  level: 'connection',
  secretField: 'webhookSigningKey',
  verify(req, secrets, now) {
    const keys = configured(secrets);
    if (keys.length === 0) return refuse('no_secret');
    const header = req.headers['x-unleashed-signature'];
    const sent = req.headers['x-unleashed-timestamp'];
    if (!header || !sent) return refuse('missing_signature');
    const signature = decodeSignature(header, 'base64');
    const seconds = unixSeconds(sent);
    if (!signature || seconds === null) return refuse('malformed');
    if (!withinWindow(seconds, now, UNLEASHED_TOLERANCE_S)) return refuse('stale_timestamp');
    return anyMatch([signature], keys.map((k) => hmacSha256(k, `${seconds}.`, req.raw))) ? ACCEPT : refuse('bad_signature');
  },
  // The delivery names the subscription, the event notification (stable across Unleashed's
  // retries), the event type (`product.created`, …) and the resource's Guid; the casing of the
  // field names is not settled in the sources, so both are read.
  events(req) {
    const body = jsonBody(req);
    const topic = text(body.eventType) ?? text(body.EventType);
    if (!topic) throw new Error('Unleashed webhook without an event type');
    const externalId = text(body.eventNotificationId) ?? text(body.EventNotificationId) ?? createHash('sha256').update(req.raw).digest('hex');
    return [{ externalId, topic, routingKey: null, payload: body }];
  },
};
