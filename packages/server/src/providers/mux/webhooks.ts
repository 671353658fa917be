import { createHash } from 'node:crypto';
import type { WebhookHooks } from '../adapter.js';
import { ACCEPT, anyMatch, configured, decodeSignature, hmacSha256, jsonBody, refuse, text, unixSeconds, withinWindow } from '../shared/signed-webhooks.js';

/**
 * Mux signs each delivery: `Mux-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * with the endpoint's signing secret (one per webhook endpoint); `v1` is the only scheme.
 * https://www.mux.com/docs/core/verify-webhook-signatures
 * The page leaves the tolerance to the receiver; Mux's own SDKs default to 300 s
 * (https://github.com/muxinc/mux-node-sdk, `verifySignature`; hex `mux` package `@default_tolerance 300`).
 */
export const MUX_TOLERANCE_S = 300;

export const muxWebhooks: WebhookHooks = {
  scheme: 'mux_signature',
  level: 'connection',
  secretField: 'webhookSecret',
  verify(req, secrets, now) {
    const keys = configured(secrets);
    if (keys.length === 0) return refuse('no_secret');
    const header = req.headers['mux-signature'];
    if (!header) return refuse('missing_signature');
    const parts = header.split(',').map((p) => p.trim());
    const t = unixSeconds(parts.find((p) => p.startsWith('t='))?.slice(2));
    const candidates = parts.filter((p) => p.startsWith('v1=')).map((p) => decodeSignature(p.slice(3), 'hex')).filter((b): b is Buffer => b !== null);
    if (t === null || candidates.length === 0) return refuse('malformed');
    if (!withinWindow(t, now, MUX_TOLERANCE_S)) return refuse('stale_timestamp');
    const expected = keys.map((k) => hmacSha256(k, `${t}.`, req.raw));
    return anyMatch(candidates, expected) ? ACCEPT : refuse('bad_signature');
  },
  // Mux's event envelope: `{ type: "video.asset.ready", id: "<event uuid>", object, data, ... }`
  // https://www.mux.com/docs/core/listen-for-webhooks
  events(req) {
    const body = jsonBody(req);
    const topic = text(body.type);
    if (!topic) throw new Error('Mux webhook without a type');
    const externalId = text(body.id) ?? createHash('sha256').update(req.raw).digest('hex');
    return [{ externalId, topic, routingKey: null, payload: body }];
  },
};
