import type { InboundWebhook } from '../adapter.js';

/** An inbound request as the webhook route hands it to an adapter (lower-case header names, raw bytes). */
export function inbound(delivery: { headers: Record<string, string>; body: string | Buffer }, change: { body?: string; drop?: string; set?: Record<string, string> } = {}): InboundWebhook {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...delivery.headers, ...change.set })) headers[k.toLowerCase()] = v;
  if (change.drop) delete headers[change.drop.toLowerCase()];
  return { method: 'POST', raw: Buffer.from(change.body ?? delivery.body), headers, query: {} };
}

/** The body with one character changed inside a JSON string value (still valid JSON, different bytes). */
export const tamper = (body: string) => body.replace(/"type":"(.)/, (_m, c: string) => `"type":"${c === 'x' ? 'y' : 'x'}`);
