import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './oauth/http.js';

/**
 * A tenant's webhook endpoint, played by the sandbox: `POST /webhook-receiver/<name>` records each
 * delivery (headers and exact body) and answers as told — 200 by default, or a status, a
 * `Retry-After`, a delay (a slow endpoint) — per name, for the next `times` deliveries or until
 * told otherwise. `?status=&retryAfter=&delayMs=` on the URL does the same for one endpoint URL.
 */
export const RECEIVER_PREFIX = '/webhook-receiver/';

export type ReceiverAnswer = { status?: number; retryAfter?: string; delayMs?: number; body?: string; times?: number };
export type ReceivedDelivery = { name: string; headers: Record<string, string>; body: string; receivedAt: number; status: number };

export function createWebhookReceiver() {
  const answers = new Map<string, ReceiverAnswer[]>();
  const received: ReceivedDelivery[] = [];

  function answerFor(name: string, url: URL): ReceiverAnswer {
    const q = url.searchParams;
    if (q.has('status') || q.has('delayMs')) {
      return { status: Number(q.get('status') ?? 200), ...(q.get('retryAfter') ? { retryAfter: q.get('retryAfter')! } : {}), delayMs: Number(q.get('delayMs') ?? 0) };
    }
    const list = answers.get(name);
    const a = list?.[0];
    if (!a) return { status: 200 };
    if (a.times !== undefined && --a.times <= 0) list.shift();
    return a;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL) {
    const name = decodeURIComponent(url.pathname.slice(RECEIVER_PREFIX.length));
    const body = (await readBody(req)) ?? '';
    const a = answerFor(name, url);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    const status = a.status ?? 200;
    received.push({ name, headers: { ...req.headers } as Record<string, string>, body, receivedAt: Date.now(), status });
    const text = a.body ?? JSON.stringify({ received: true });
    res.writeHead(status, { 'content-type': 'application/json', ...(a.retryAfter ? { 'retry-after': a.retryAfter } : {}) });
    res.end(text);
  }

  return {
    handle,
    api: (base: string) => ({
      /** The URL of endpoint `name` (any name; each keeps its own answers and log). */
      urlFor: (name: string) => `${base}${RECEIVER_PREFIX}${encodeURIComponent(name)}`,
      /** How `name` answers next: for `times` deliveries (then the next answer, or 200), or until reset. */
      answer(name: string, a: ReceiverAnswer) {
        answers.set(name, [...(answers.get(name) ?? []), { ...a }]);
      },
      reset(name: string) {
        answers.delete(name);
      },
      /** Deliveries `name` received, in order (with the status it answered). */
      deliveries: (name: string) => received.filter((d) => d.name === name),
    }),
  };
}
export type WebhookReceiver = ReturnType<ReturnType<typeof createWebhookReceiver>['api']>;
