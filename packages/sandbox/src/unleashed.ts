import { createHmac } from 'node:crypto';

/** Unleashed's request signature: base64(HMAC-SHA256(key = API key, message = query string without '?')). */
export function unleashedSignature(apiKey: string, queryString: string): string {
  return createHmac('sha256', apiKey).update(queryString.replace(/^\?/, '')).digest('base64');
}
