import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OutboundHarness, outboundHarness } from '../../test-support/outbound-webhooks.js';

let h: OutboundHarness;
beforeAll(async () => {
  h = await outboundHarness();
}, 60_000);
afterAll(() => h?.close());

describe('outbound webhooks under concurrency', () => {
  it('drains and senders running at once hand over each event once and send each delivery once', async () => {
    const o = await h.owner();
    const names = [`c1-${crypto.randomUUID()}`, `c2-${crypto.randomUUID()}`];
    for (const name of names) await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes: ['*'] });
    const N = 150;
    await h.emitMany(o.acct.tenantId, N);
    await Promise.all(Array.from({ length: 4 }, () => h.t.services.events.drain({ batch: 20 })));
    const stats = await Promise.all(Array.from({ length: 4 }, () => h.t.services.webhookDeliveries.sendDue({ concurrency: 8, batch: 10 })));
    expect(stats.reduce((n, s) => n + s.attempts, 0)).toBe(2 * N);
    for (const name of names) {
      const got = h.receiver.deliveries(name);
      expect(got).toHaveLength(N);
      expect(new Set(got.map((d) => d.headers['webhook-id'])).size).toBe(N);
    }
    const rows = await h.query<{ status: string; attempts: number; n: number }>(
      'select status, attempts, count(*)::int as n from webhook_deliveries where tenant_id = $1 group by 1, 2', [o.acct.tenantId]);
    expect(rows).toEqual([{ status: 'delivered', attempts: 1, n: 2 * N }]);
  }, 60_000);
});
