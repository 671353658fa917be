import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookEvent, WebhookHooks, WebhookReply } from '../adapter.js';
import { derivedEventId, isRecord, malformedBody, parseJsonBody, stringOf, verifyBodyHmac } from '../shared/app-webhook.js';

/*
 * Meta webhooks for Messenger (https://developers.facebook.com/docs/graph-api/webhooks/getting-started ,
 * https://developers.facebook.com/docs/messenger-platform/webhooks): one callback URL per app.
 * - Verification request: `GET ?hub.mode=subscribe&hub.verify_token=<the operator's token>&hub.challenge=<n>`,
 *   answered with the challenge when the token matches.
 * - Event notifications: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`;
 *   body `{ object: 'page', entry: [{ id: <Page id>, time, messaging: [...] } | { id, time, changes: [...] }] }`.
 *   Meta batches up to 1,000 updates, of several Pages, into one delivery.
 */

/** Which Messenger webhook field a messaging item belongs to (the key that carries it). */
const ITEM_FIELDS: ReadonlyArray<[key: string, topic: string]> = [
  ['message', 'messages'],
  ['postback', 'messaging_postbacks'],
  ['delivery', 'message_deliveries'],
  ['read', 'message_reads'],
  ['reaction', 'message_reactions'],
  ['message_edit', 'message_edits'],
  ['optin', 'messaging_optins'],
  ['referral', 'messaging_referrals'],
  ['account_linking', 'messaging_account_linking'],
  ['pass_thread_control', 'messaging_handovers'],
  ['take_thread_control', 'messaging_handovers'],
  ['request_thread_control', 'messaging_handovers'],
];

function topicOf(item: Record<string, unknown>): string {
  if (isRecord(item.message) && item.message.is_echo === true) return 'message_echoes';
  for (const [key, topic] of ITEM_FIELDS) if (key in item) return topic;
  return Object.keys(item).find((k) => !['sender', 'recipient', 'timestamp'].includes(k)) ?? 'messaging';
}

/**
 * A message's or postback's own `mid` is Meta's id for it. Other items (deliveries, reads,
 * reactions — whose `mid` names the message reacted to, not the reaction) have none: their id is
 * derived from the Page and the item as sent, which a redelivery repeats exactly.
 */
function messagingId(pageId: string, item: Record<string, unknown>, topic: string): string {
  const own = topic === 'messages' || topic === 'message_echoes' ? item.message : topic === 'messaging_postbacks' ? item.postback : undefined;
  const mid = isRecord(own) ? stringOf(own.mid) : undefined;
  return mid ?? derivedEventId('messenger', pageId, topic, JSON.stringify(item));
}

function entryEvents(entry: unknown): WebhookEvent[] {
  if (!isRecord(entry)) throw malformedBody('Messenger', 'has an entry that is not an object');
  const pageId = stringOf(entry.id);
  if (!pageId) throw malformedBody('Messenger', 'has an entry without id');
  const out: WebhookEvent[] = [];
  // `standby` carries the same items for a Page whose conversation another app controls (handover protocol).
  for (const [list, standby] of [[entry.messaging, false], [entry.standby, true]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw malformedBody('Messenger', 'has a messaging list that is not an array');
    for (const item of list) {
      if (!isRecord(item)) throw malformedBody('Messenger', 'has a messaging item that is not an object');
      const topic = topicOf(item);
      out.push({ externalId: messagingId(pageId, item, topic), topic: standby ? `standby.${topic}` : topic, routingKey: pageId, payload: { pageId, time: entry.time, item } });
    }
  }
  if (entry.changes !== undefined) {
    if (!Array.isArray(entry.changes)) throw malformedBody('Messenger', 'has changes that are not an array');
    for (const change of entry.changes) {
      if (!isRecord(change)) throw malformedBody('Messenger', 'has a change that is not an object');
      const field = stringOf(change.field) ?? 'changes';
      out.push({ externalId: derivedEventId('messenger', pageId, field, String(entry.time ?? ''), JSON.stringify(change)), topic: field, routingKey: pageId, payload: { pageId, time: entry.time, change } });
    }
  }
  return out;
}

/** Compared as SHA-256 digests: equal lengths for timingSafeEqual whatever was sent. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function messengerSubscription(query: Readonly<Record<string, string>>, verifyToken: string | undefined): WebhookReply {
  const challenge = query['hub.challenge'];
  const token = query['hub.verify_token'];
  if (!verifyToken || query['hub.mode'] !== 'subscribe' || challenge === undefined || token === undefined || !sameToken(token, verifyToken)) return { status: 403 };
  return { status: 200, body: challenge, contentType: 'text/plain' };
}

export const messengerWebhooks: WebhookHooks = {
  scheme: 'meta_hub_sha256',
  level: 'app',
  verify(req, secrets) {
    const header = req.headers['x-hub-signature-256'];
    if (header !== undefined && header.trim() !== '' && !header.trim().startsWith('sha256=')) {
      return secrets.some((s) => s !== '') ? { ok: false, reason: 'bad_signature' } : { ok: false, reason: 'no_secret' };
    }
    return verifyBodyHmac(req.raw, header?.trim().slice('sha256='.length), secrets, 'hex');
  },
  handshake: (req, { verifyToken }) => (req.method === 'GET' ? messengerSubscription(req.query, verifyToken) : null),
  events(req) {
    const body = parseJsonBody(req.raw, 'Messenger');
    if (!isRecord(body) || !Array.isArray(body.entry)) throw malformedBody('Messenger', 'has no entry array');
    return body.entry.flatMap(entryEvents);
  },
};
