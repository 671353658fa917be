import { createHash } from 'node:crypto';
import type { InboundWebhook, WebhookConnection, WebhookHooks, WebhookVerdict } from '../adapter.js';
import { ACCEPT, anyMatch, configured, decodeSignature, hmacSha256, jsonBody, refuse, text, verifyStandardWebhook } from '../shared/signed-webhooks.js';

/**
 * A tenant-defined API's webhooks, in one of two shapes the tenant picks (non-secret config):
 * - `hmac` (default): the header `webhookSignatureHeader` carries HMAC-SHA256 of the raw body
 *   with the secret, `hex` (default) or `base64` (`webhookSignatureEncoding`), after an optional
 *   prefix such as `sha256=` (`webhookSignaturePrefix`) — GitHub's and most vendors' shape. No
 *   timestamp is signed in this shape, so replays are stopped by the dedupe only.
 * - `standard`: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`, a
 *   `whsec_` secret, 5-minute window):
 *   https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export const DEFAULT_SIGNATURE_HEADER = 'x-signature';

const signatureHeaderOf = (config: Readonly<Record<string, string>>) => (config.webhookSignatureHeader?.trim() || DEFAULT_SIGNATURE_HEADER).toLowerCase();

function verifyHmac(req: InboundWebhook, keys: string[], config: Readonly<Record<string, string>>): WebhookVerdict {
  const headerName = signatureHeaderOf(config);
  const encoding = config.webhookSignatureEncoding === 'base64' ? 'base64' : 'hex';
  const prefix = config.webhookSignaturePrefix ?? '';
  const header = req.headers[headerName];
  if (!header) return refuse('missing_signature');
  if (!header.startsWith(prefix)) return refuse('malformed');
  const signature = decodeSignature(header.slice(prefix.length), encoding);
  if (!signature) return refuse('malformed');
  return anyMatch([signature], keys.map((k) => hmacSha256(k, req.raw))) ? ACCEPT : refuse('bad_signature');
}

export const customWebhooks: WebhookHooks = {
  scheme: 'custom_hmac',
  level: 'connection',
  secretField: 'webhookSecret',
  verify(req, secrets, now, connection?: WebhookConnection) {
    const config = connection?.config ?? {};
    if (config.webhookMode === 'standard') return verifyStandardWebhook(req, secrets, now, 'webhook');
    const keys = configured(secrets);
    if (keys.length === 0) return refuse('no_secret');
    return verifyHmac(req, keys, config);
  },
  // Nothing is known of a custom API's envelope: the Standard Webhooks id (signed: `id.timestamp.body`),
  // else the body's `id`, else its digest. The HMAC shape signs the body only, so no header is
  // trusted for the id there. The topic from `type` or `event`, else `webhook`.
  events(req, connection) {
    const body = jsonBody(req);
    const signedId = connection?.config.webhookMode === 'standard' ? req.headers['webhook-id'] : undefined;
    const externalId = signedId ?? text(body.id) ?? createHash('sha256').update(req.raw).digest('hex');
    const topic = text(body.type) ?? text(body.event) ?? 'webhook';
    return [{ externalId, topic, routingKey: null, payload: body }];
  },
  signatureHeaders: (connection) => (connection?.config.webhookMode === 'standard' ? [] : [signatureHeaderOf(connection?.config ?? {})]),
};
