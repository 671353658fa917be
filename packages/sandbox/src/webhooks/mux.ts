import { createHmac, randomUUID } from 'node:crypto';

/**
 * A Mux webhook delivery as Mux signs it: `Mux-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
 * https://www.mux.com/docs/core/verify-webhook-signatures
 * Pure: the same inputs give the same delivery, so tests can redeliver, tamper and age it.
 */
export type MuxEvent = { id?: string; type: string; data?: Record<string, unknown> };

export function muxDelivery(opts: { secret: string; event: MuxEvent; at: Date; extraSecrets?: string[] }): { headers: Record<string, string>; body: string } {
  const t = Math.floor(opts.at.getTime() / 1000);
  const body = JSON.stringify({ id: opts.event.id ?? randomUUID(), type: opts.event.type, object: { type: 'asset', id: 'asset-1' }, data: opts.event.data ?? {}, created_at: opts.at.toISOString() });
  const sig = (secret: string) => `v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
  return { headers: { 'content-type': 'application/json', 'mux-signature': [`t=${t}`, ...[opts.secret, ...(opts.extraSecrets ?? [])].map(sig)].join(',') }, body };
}
