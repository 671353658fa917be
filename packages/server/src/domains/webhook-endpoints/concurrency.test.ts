import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../platform/clock.js';
import { nodeServices, testRing } from '../../test-support/index.js';
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

  it('two senders against a slow endpoint: nothing taken waits past its lease, so no delivery is sent twice', async () => {
    const o = await h.owner();
    const name = `slow-${crypto.randomUUID()}`;
    await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes: ['*'] });
    h.receiver.answer(name, { status: 200, delayMs: 1_000 });
    const N = 40;
    await h.emitMany(o.acct.tenantId, N);
    await h.t.services.events.drain();
    // The harness's clock ran ahead (each MFA code moves it): due now by the real clock of the nodes below.
    await h.query(`update webhook_deliveries set next_attempt_at = now() - interval '1 second' where tenant_id = $1`, [o.acct.tenantId]);
    // Two nodes on the real clock, so leases run out in real time: attempts of at most 2.5 s (a
    // stalled event loop cannot push the endpoint's 1 s past it), a lease of 10 s (2 × 2.5 s + 5 s),
    // and an attempt starts only with 5 s of it left (2.5 s + 2.5 s): each worker takes 4 turns of
    // about 1 s ahead, so turns up to a fifth slower than the slowest seen still start in time.
    const nodes = [0, 1].map(() => nodeServices(h.t.db, testRing(), systemClock, { allowPrivateProviderUrls: true, deliveries: { timeoutMs: 2_500, random: () => 0.5 } }));
    // Asked for more than their workers can start within a lease (40 at 2 × 1 s would start 20 s later).
    const stats = await Promise.all(nodes.map((n) => n.webhookDeliveries.sendDue({ concurrency: 2, batch: N })));
    const got = h.receiver.deliveries(name);
    const ids = got.map((d) => d.headers['webhook-id']);
    expect(ids.length - new Set(ids).size, 'deliveries sent twice').toBe(0);
    expect(ids).toHaveLength(N);
    expect(stats.reduce((n, s) => n + s.attempts, 0)).toBe(N);
    const rows = await h.query<{ status: string; attempts: number; logged: number; n: number }>(
      `select d.status, d.attempts, (select count(*)::int from webhook_delivery_attempts a where a.delivery_id = d.id) as logged, count(*)::int as n
       from webhook_deliveries d where d.tenant_id = $1 group by 1, 2, 3`, [o.acct.tenantId]);
    expect(rows).toEqual([{ status: 'delivered', attempts: 1, logged: 1, n: N }]);
  }, 60_000);

  it('a run that stops early hands back what it took ahead: every counted attempt was made, the rest are due at once', async () => {
    const o = await h.owner();
    const name = `early-${crypto.randomUUID()}`;
    await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes: ['*'] });
    await h.emitMany(o.acct.tenantId, 60);
    await h.t.services.events.drain();
    const first = await h.t.services.webhookDeliveries.sendDue({ concurrency: 2, batch: 40, maxMs: 0 });
    expect(first.attempts).toBeLessThan(60);
    const rows = await h.query<{ attempts: number; logged: number; due: boolean }>(
      `select d.attempts, (select count(*)::int from webhook_delivery_attempts a where a.delivery_id = d.id) as logged, d.next_attempt_at <= $2 as due
       from webhook_deliveries d where d.tenant_id = $1 and d.status = 'pending'`, [o.acct.tenantId, h.t.clock()]);
    expect(rows.length).toBe(60 - first.attempts);
    expect(rows.every((r) => r.attempts === r.logged && r.due)).toBe(true);
    await h.t.services.webhookDeliveries.sendDue();
    expect(h.receiver.deliveries(name)).toHaveLength(60);
  });

  it('55 endpoints created at once for one organization: exactly 50 exist, the rest are QUOTA_EXCEEDED', async () => {
    const o = await h.owner();
    const p = { tenantId: o.acct.tenantId, role: 'owner' as const, userId: o.acct.userId, actor: { type: 'user' as const, id: o.acct.userId } };
    const results = await Promise.allSettled(Array.from({ length: 55 }, (_, i) =>
      h.t.services.webhookEndpoints.create(p, { url: h.receiver.urlFor(`cap-${i}`), description: '', eventTypes: ['*'], enabled: true, signatureScheme: 'v1' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(5).fill('QUOTA_EXCEEDED'));
    expect(await h.query('select id from webhook_endpoints where tenant_id = $1', [o.acct.tenantId])).toHaveLength(50);
  }, 60_000);
});
