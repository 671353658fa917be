import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey } from '../../test-support/accounts.js';
import { type OutboundHarness, outboundHarness, verifyWith } from '../../test-support/outbound-webhooks.js';
import { createEventsRepo } from '../events/events.repo.js';
import { createEventsService } from '../events/events.service.js';
import { createDeliveryConsumer } from './deliveries.consumer.js';
import { JITTER, MAX_ATTEMPTS, RETRY_DELAYS_MS, nextDelayMs } from './schedule.js';
import { createWebhookEndpointsRepo } from './webhook-endpoints.repo.js';

let h: OutboundHarness;
beforeAll(async () => {
  h = await outboundHarness();
}, 60_000);
afterAll(() => h?.close());

const DAY = 86_400_000;
type Delivery = { id: string; status: string; attempts: number; nextAttemptAt: string | null; lastStatus: number | null; lastError: string | null; attemptLog: Array<{ at: string; status: number | null; error: string | null; response: string | null; latencyMs: number }> };

/** An owner, one endpoint on a fresh receiver name, and helpers about that endpoint. */
async function setup(eventTypes = ['*']) {
  const o = await h.owner();
  const name = `ep-${crypto.randomUUID()}`;
  const ep = await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes });
  // An API key: these tests move the clock by days, past any access token's life.
  const key = (await createApiKey(h.t.app, h.t.clock, o.acct, { role: 'admin', scopes: ['webhooks:read', 'webhooks:write'] })).key;
  const deliveries = async (): Promise<Delivery[]> => (await h.deliveriesOf(key, ep.id)).data;
  const endpoint = async () => (await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(key) })).json().data;
  const received = () => h.receiver.deliveries(name);
  return { o, key, name, ep, deliveries, endpoint, received };
}
const send = () => h.t.services.webhookDeliveries.sendDue();
const counted = async (outcome: string) =>
  (await h.t.services.metrics.registry.getSingleMetric('keyhold_webhook_deliveries_total')!.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

describe('handing over', () => {
  it('the drain asks for a send only after its transaction committed, so the send finds the deliveries', async () => {
    const s = await setup();
    await h.emit(s.o.acct.tenantId, 1);
    let seen: Promise<Array<{ n: number }>> | undefined;
    const consumer = createDeliveryConsumer({
      repo: createWebhookEndpointsRepo(h.t.db.kysely),
      clock: h.t.clock,
      // What a send started now would find (another connection, as the send job's).
      queued: () => { seen = h.query<{ n: number }>('select count(*)::int as n from webhook_deliveries where tenant_id = $1', [s.o.acct.tenantId]); },
    });
    // A consumer after it that takes a while: the drain's transaction commits that much later.
    const slow = () => new Promise<void>((r) => setTimeout(r, 300));
    const events = createEventsService({ repo: createEventsRepo(h.t.db.kysely), tenancy: h.t.db, clock: h.t.clock, consumers: [consumer, slow] });
    expect((await events.drain()).dispatched).toBeGreaterThanOrEqual(1);
    expect(seen, 'a send was asked for').toBeDefined();
    expect((await seen!)[0]!.n).toBe(1);
  });
});

describe('retry schedule', () => {
  it('the jitter spreads each wait by at most ±10 %', () => {
    for (const [i, base] of RETRY_DELAYS_MS.entries()) {
      expect(nextDelayMs(i + 1, { random: () => 0 })).toBe(Math.round(base * (1 - JITTER)));
      expect(nextDelayMs(i + 1, { random: () => 0.999999 })).toBeLessThanOrEqual(Math.round(base * (1 + JITTER)));
    }
    expect(nextDelayMs(MAX_ATTEMPTS, { random: () => 0.5 })).toBeNull();
  });

  it('a failing endpoint is tried 10 times: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h later; never sooner', async () => {
    const s = await setup();
    h.receiver.answer(s.name, { status: 500, body: '{"error":"down for maintenance"}' });
    const [retrying, failed] = [await counted('retrying'), await counted('failed')];
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    const waits: number[] = [];
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const [d] = await s.deliveries();
      expect([d!.status, d!.attempts]).toEqual(['pending', attempt]);
      const wait = Date.parse(d!.nextAttemptAt!) - Date.parse(d!.attemptLog.at(-1)!.at);
      waits.push(wait);
      h.t.clock.advance(wait - 1000);
      expect((await send()).attempts, `attempt ${attempt + 1} is not due 1 s early`).toBe(0);
      h.t.clock.advance(1000);
      await send();
    }
    expect(waits).toEqual([...RETRY_DELAYS_MS]);
    const [d] = await s.deliveries();
    expect([d!.status, d!.attempts, d!.nextAttemptAt, d!.lastStatus, d!.lastError]).toEqual(['failed', 10, null, 500, 'http_500']);
    expect(d!.attemptLog.map((a) => a.status)).toEqual(Array(10).fill(500));
    expect(d!.attemptLog[0]!.response).toBe('{"error":"down for maintenance"}');
    // Every attempt carried the same webhook-id.
    expect(new Set(s.received().map((r) => r.headers['webhook-id']))).toEqual(new Set([`msg_${d!.id}`]));
    expect(s.received()).toHaveLength(10);
    expect([await counted('retrying') - retrying, await counted('failed') - failed], 'keyhold_webhook_deliveries_total').toEqual([9, 1]);
  });

  it('Retry-After is honoured on 429/502/503/504 (seconds or a date), never sooner than the schedule, and ignored on a 500', async () => {
    const s = await setup();
    h.receiver.answer(s.name, { status: 429, retryAfter: '120', times: 1 });
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    const waitOf = (d: Delivery) => Date.parse(d.nextAttemptAt!) - Date.parse(d.attemptLog.at(-1)!.at);
    expect(waitOf((await s.deliveries())[0]!)).toBe(120_000);

    h.t.clock.advance(120_000);
    h.receiver.answer(s.name, { status: 503, retryAfter: new Date(h.t.clock().getTime() + 600_000).toUTCString(), times: 1 });
    await send();
    expect(waitOf((await s.deliveries())[0]!)).toBeGreaterThan(599_000); // the date has whole seconds

    h.t.clock.advance(600_000);
    h.receiver.answer(s.name, { status: 504, retryAfter: '1', times: 1 });
    await send();
    expect(waitOf((await s.deliveries())[0]!), 'a shorter Retry-After does not beat the schedule').toBe(RETRY_DELAYS_MS[2]);

    h.t.clock.advance(RETRY_DELAYS_MS[2]);
    h.receiver.answer(s.name, { status: 500, retryAfter: '36000', times: 1 });
    await send();
    expect(waitOf((await s.deliveries())[0]!)).toBe(RETRY_DELAYS_MS[3]);

    h.t.clock.advance(RETRY_DELAYS_MS[3]);
    await send();
    const [d] = await s.deliveries();
    expect([d!.status, d!.attempts]).toEqual(['delivered', 5]);
    expect(d!.attemptLog.map((a) => a.status)).toEqual([429, 503, 504, 500, 200]);
  });

  it('a redirect is a failure (not followed); a slow endpoint times out', async () => {
    const s = await setup();
    h.receiver.answer(s.name, { status: 302, times: 1 });
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    let [d] = await s.deliveries();
    expect([d!.status, d!.lastStatus, d!.lastError]).toEqual(['pending', 302, 'http_302']);
    expect(s.received()).toHaveLength(1);

    h.receiver.answer(s.name, { status: 200, delayMs: 3_000, times: 1 }); // the harness's timeout is 2 s
    h.t.clock.advance(RETRY_DELAYS_MS[0]);
    await send();
    [d] = await s.deliveries();
    expect([d!.status, d!.lastStatus, d!.lastError]).toEqual(['pending', null, 'timeout']);
    expect(d!.attemptLog.at(-1)!.latencyMs).toBeGreaterThanOrEqual(1_900);
  });
});

describe('disabling endpoints', () => {
  const disabledEvents = async (tenantId: string) =>
    h.query<{ subject: { endpointId: string; host: string }; payload: { reason: string } }>(
      "select subject, payload from events where tenant_id = $1 and type = 'webhook_endpoint.disabled' order by id", [tenantId]);
  /** The owners' emails about a disabled endpoint, once the drain and the notification sender ran (the sandbox's Resend inbox). */
  const disabledMails = async (email: string) => {
    await h.t.services.events.drain();
    await h.t.services.notifications.sendDue();
    await h.t.services.notifications.idle();
    return h.sandbox.captures.inbox(email).filter((m) => m.subject.startsWith('Keyhold disabled your webhook endpoint'));
  };

  it('410 Gone disables the endpoint at once, appends webhook_endpoint.disabled (id and host, no secret), and it gets nothing more', async () => {
    const s = await setup();
    const watcherName = `watch-${crypto.randomUUID()}`;
    const watcher = await h.createEndpoint(s.o, { url: h.receiver.urlFor(watcherName), eventTypes: ['webhook_endpoint.disabled'] });
    h.receiver.answer(s.name, { status: 410 });
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    const [d] = await s.deliveries();
    expect([d!.status, d!.attempts, d!.lastStatus]).toEqual(['failed', 1, 410]);
    expect(await s.endpoint()).toMatchObject({ enabled: false, disabledReason: 'gone_410' });
    expect(await disabledEvents(s.o.acct.tenantId)).toEqual([{ subject: { endpointId: s.ep.id, host: '127.0.0.1' }, payload: { reason: 'gone_410' } }]);

    await h.emit(s.o.acct.tenantId, 2);
    await h.flush();
    expect(s.received()).toHaveLength(1);
    // Other endpoints hear of it, signed like any event.
    const told = h.receiver.deliveries(watcherName);
    expect(told).toHaveLength(1);
    const body = verifyWith(watcher.secret, told[0]!, new Date(Number(told[0]!.headers['webhook-timestamp']) * 1000)) as { type: string; data: { subject: unknown; payload: unknown } };
    expect(body).toMatchObject({ type: 'webhook_endpoint.disabled', data: { subject: { endpointId: s.ep.id, host: '127.0.0.1' }, payload: { reason: 'gone_410' } } });
    // The owner is told by email (through the notifications consumer and the platform's sender), once.
    const mails = await disabledMails(s.o.acct.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'Keyhold <no-reply@keyhold.test>', to: [s.o.acct.email], subject: 'Keyhold disabled your webhook endpoint at 127.0.0.1' });
    expect(mails[0]!.text).toContain('gone_410');
    expect(`${mails[0]!.text}${mails[0]!.html}`).not.toContain(s.ep.secret.slice(6));
    expect(await disabledMails(s.o.acct.email)).toHaveLength(1);
  });

  it('an endpoint that failed every attempt for 5 days is disabled with webhook_endpoint.disabled; one success in between restarts the count', async () => {
    const failing = await setup();
    const flaky = await setup();
    h.receiver.answer(failing.name, { status: 500 });
    h.receiver.answer(flaky.name, { status: 500 });
    await h.emit(failing.o.acct.tenantId, 1);
    await h.emit(flaky.o.acct.tenantId, 1);
    await h.flush();
    expect((await failing.endpoint()).failingSince).toBeTruthy();

    h.t.clock.advance(3 * DAY);
    h.receiver.reset(flaky.name); // answers 200 again
    await h.emit(failing.o.acct.tenantId, 1);
    await h.emit(flaky.o.acct.tenantId, 1);
    await h.flush();
    expect((await flaky.endpoint()).failingSince).toBeNull();
    h.receiver.answer(flaky.name, { status: 500 });

    h.t.clock.advance(2 * DAY - 60_000);
    await h.emit(failing.o.acct.tenantId, 1);
    await h.emit(flaky.o.acct.tenantId, 1);
    await h.flush();
    expect((await failing.endpoint()).enabled, 'failing for 5 days less a minute').toBe(true);

    h.t.clock.advance(60_000);
    await h.emit(failing.o.acct.tenantId, 1);
    await h.emit(flaky.o.acct.tenantId, 1);
    await h.flush();
    expect(await failing.endpoint()).toMatchObject({ enabled: false, disabledReason: 'failing_5_days' });
    expect(await disabledEvents(failing.o.acct.tenantId)).toEqual([{ subject: { endpointId: failing.ep.id, host: '127.0.0.1' }, payload: { reason: 'failing_5_days' } }]);
    expect(await flaky.endpoint()).toMatchObject({ enabled: true, disabledReason: null });
    expect(await disabledEvents(flaky.o.acct.tenantId)).toEqual([]);
    const mails = await disabledMails(failing.o.acct.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: [failing.o.acct.email], subject: 'Keyhold disabled your webhook endpoint at 127.0.0.1' });
    expect(mails[0]!.text).toContain('failing_5_days');
    expect(await disabledMails(flaky.o.acct.email)).toEqual([]);
    // Deliveries still pending for the disabled endpoint end as failed without a call.
    const before = failing.received().length;
    h.t.clock.advance(DAY);
    await send();
    expect(failing.received()).toHaveLength(before);
    expect((await failing.deliveries()).filter((d) => d.status === 'pending')).toEqual([]);
  });
});

describe('operating deliveries', () => {
  it('retry sends a finished delivery again with the same webhook-id; a scheduled one cannot be retried', async () => {
    const s = await setup();
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    const [d] = await s.deliveries();
    const url = `/api/webhook-endpoints/${s.ep.id}/deliveries/${d!.id}/retry`;
    const res = await h.t.app.inject({ method: 'POST', url, headers: bearer(s.key) });
    expect([res.statusCode, res.json().data.status]).toEqual([200, 'pending']);
    const again = await h.t.app.inject({ method: 'POST', url, headers: bearer(s.key) });
    expect([again.statusCode, again.json().code]).toEqual([409, 'CONFLICT']);
    await send();
    expect(s.received().map((r) => r.headers['webhook-id'])).toEqual([`msg_${d!.id}`, `msg_${d!.id}`]);
    expect((await s.deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('recover re-sends what failed since a time, once the endpoint is enabled again', async () => {
    const s = await setup();
    h.receiver.answer(s.name, { status: 410, times: 1 });
    const since = h.t.clock().toISOString();
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    expect((await s.endpoint()).enabled).toBe(false);
    const early = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${s.ep.id}/recover`, headers: bearer(s.key), payload: { since } });
    expect([early.statusCode, early.json().code], 'a disabled endpoint is enabled first').toEqual([409, 'CONFLICT']);
    await h.t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${s.ep.id}`, headers: bearer(s.key), payload: { enabled: true } });
    expect(await s.endpoint()).toMatchObject({ enabled: true, disabledReason: null });
    const res = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${s.ep.id}/recover`, headers: bearer(s.key), payload: { since } });
    expect(res.json().data).toEqual({ requeued: 1 });
    await send();
    const ids = s.received().map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect((await s.deliveries())[0]!.status).toBe('delivered');
  });

  it('test sends a signed test.ping', async () => {
    const s = await setup(['connection.deleted']);
    const res = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${s.ep.id}/test`, headers: bearer(s.key) });
    expect(res.statusCode).toBe(202);
    await send();
    const [got] = s.received();
    const body = verifyWith(s.ep.secret, got!, new Date(Number(got!.headers['webhook-timestamp']) * 1000));
    expect(body).toMatchObject({ type: 'test.ping', data: { endpointId: s.ep.id } });
  });
});

describe('secrets never leak', () => {
  it('no endpoint secret in any log line, audit entry, delivery row, attempt log or delivered body', async () => {
    const s = await setup();
    const planted = [s.ep.secret];
    const rotated = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${s.ep.id}/rotate-secret`, headers: { ...bearer(s.o.acct.accessToken), 'x-mfa-code': await s.o.code() } });
    planted.push(rotated.json().data.secret);
    await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${s.ep.id}/secret`, headers: { ...bearer(s.o.acct.accessToken), 'x-mfa-code': await s.o.code() } });
    // An endpoint that echoes everything it got (headers included) into its answer.
    h.receiver.answer(s.name, { status: 500, times: 1, body: JSON.stringify({ echo: 'headers and body' }) });
    await h.emit(s.o.acct.tenantId, 2);
    await h.flush();
    h.receiver.answer(s.name, { status: 410, times: 1 });
    h.t.clock.advance(RETRY_DELAYS_MS[0]);
    await send();

    const rows = async (sql: string) => (await h.query<{ dump: string }>(sql, [s.o.acct.tenantId])).map((r) => r.dump).join('\n');
    const stored = [
      await rows('select row_to_json(a)::text as dump from audit_logs a where tenant_id = $1'),
      await rows('select row_to_json(d)::text as dump from webhook_deliveries d where tenant_id = $1'),
      await rows('select row_to_json(a)::text as dump from webhook_delivery_attempts a where tenant_id = $1'),
      await rows('select row_to_json(e)::text as dump from events e where tenant_id = $1'),
      await rows("select row_to_json(e)::text as dump from webhook_endpoints e where tenant_id = $1"),
    ].join('\n');
    expect(stored).toContain('webhook_endpoints.rotate');
    const logs = h.t.logs.text();
    expect(logs).toContain('webhook endpoint disabled');
    const sent = s.received().map((r) => `${JSON.stringify(r.headers)}${r.body}`).join('\n');
    for (const secret of planted) {
      const key = secret.slice('whsec_'.length);
      for (const [where, text] of [['logs', logs], ['database', stored], ['sent', sent]] as const) {
        expect(text.includes(key), `${where} leaked ${secret.slice(0, 9)}…`).toBe(false);
      }
    }
  });
});

describe('retention', () => {
  it('bodies go after the payload retention (no more re-sending), the delivery and its attempts after the metadata retention', async () => {
    const s = await setup();
    await h.emit(s.o.acct.tenantId, 1);
    await h.flush();
    const [d] = await s.deliveries();
    const body = async () => (await h.query<{ body: string | null }>('select body from webhook_deliveries where id = $1', [d!.id]))[0];
    const prune = () => h.t.services.webhookDeliveries.prune({ payloadDays: 30, days: 90 });
    h.t.clock.advance(29 * DAY);
    await prune();
    expect((await body())?.body).toBeTruthy();
    h.t.clock.advance(2 * DAY);
    await prune();
    expect(await body()).toEqual({ body: null });
    expect((await s.deliveries())[0]!.attemptLog).toHaveLength(1);
    const retry = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${s.ep.id}/deliveries/${d!.id}/retry`, headers: bearer(s.key) });
    expect([retry.statusCode, retry.json().code]).toEqual([409, 'CONFLICT']);
    h.t.clock.advance(60 * DAY);
    await prune();
    expect(await s.deliveries()).toEqual([]);
    expect(await h.query('select 1 from webhook_delivery_attempts where delivery_id = $1', [d!.id])).toEqual([]);
  });
});
