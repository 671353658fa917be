import { createHash } from 'node:crypto';
import type { WebhookHooks } from '../adapter.js';
import { ACCEPT, anyMatch, configured, jsonBody, refuse, text } from '../shared/signed-webhooks.js';

/**
 * AssemblyAI does not sign its webhooks. The caller chooses a header when it submits a
 * transcript (`webhook_auth_header_name` / `webhook_auth_header_value`) and AssemblyAI sends it
 * back with the delivery: https://www.assemblyai.com/docs/deployment/webhooks (pre-recorded),
 * https://www.assemblyai.com/docs/deployment/webhooks-for-streaming-speech-to-text (streaming).
 * The connection keeps the header's name as config and its value as the secret; a connection
 * without either has nothing to check, and is refused. The value is compared through SHA-256
 * digests so the comparison is constant time whatever the lengths. No timestamp is sent.
 */
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export const assemblyaiWebhooks: WebhookHooks = {
  scheme: 'assemblyai_header',
  level: 'connection',
  secretField: 'webhookAuthHeaderValue',
  verify(req, secrets, _now, connection) {
    const values = configured(secrets);
    const name = connection?.config.webhookAuthHeaderName?.trim().toLowerCase();
    if (values.length === 0 || !name) return refuse('no_secret');
    const sent = req.headers[name];
    if (sent === undefined || sent === '') return refuse('missing_signature');
    return anyMatch([digest(sent)], values.map(digest)) ? ACCEPT : refuse('bad_signature');
  },
  signatureHeaders: (connection) => {
    const name = connection?.config.webhookAuthHeaderName?.trim().toLowerCase();
    return name ? [name] : [];
  },
  // Pre-recorded: `{ transcript_id, status }` (`completed` | `error`), one delivery per outcome,
  // so the pair is the event's id. A streaming session's delivery has no transcript id: its
  // body's digest stands in.
  events(req) {
    const body = jsonBody(req);
    const id = text(body.transcript_id);
    const status = text(body.status);
    if (id && status) return [{ externalId: `${id}:${status}`, topic: `transcript.${status}`, routingKey: null, payload: body }];
    return [{ externalId: createHash('sha256').update(req.raw).digest('hex'), topic: 'streaming.session', routingKey: null, payload: body }];
  },
};
