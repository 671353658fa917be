import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Unleashed's request signature: base64(HMAC-SHA256(key = API key, message = query string without
 * '?')). https://apidocs.unleashedsoftware.com/AuthenticationHelp
 */
export function unleashedSignature(apiKey: string, queryString: string): string {
  return createHmac('sha256', apiKey).update(queryString.replace(/^\?/, '')).digest('base64');
}

/**
 * The query string exactly as it arrived (still percent-encoded, `+` kept as `+`), not a
 * re-serialised URL: the signature is over the query as the client sent it, so a client that
 * signs the decoded values (or another spelling of them) is refused, as Unleashed refuses it.
 * See docs/providers/unleashed.md for what is known about Unleashed's own check.
 */
export function receivedQuery(req: IncomingMessage): string {
  const raw = req.url ?? '';
  const at = raw.indexOf('?');
  return at < 0 ? '' : raw.slice(at + 1);
}
