import { type KeyholdEvent } from '@keyhold/contract';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../../platform/config.js';
import { systemActor } from '../../platform/context.js';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import { startJobRunner } from '../../platform/jobs.js';
import { migratedScratch, nodeServices, silentLogger, testRing } from '../../test-support/index.js';
import type { Tenant } from '../tenants/tenants.service.js';
import { DRAIN_JOB, registerEventJobs } from './events.jobs.js';
import type { EventConsumer } from './events.service.js';

/** The drain sees every tenant's pending events, so it runs on a database of its own. */
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let services: ReturnType<typeof nodeServices>;
const received: Array<{ tenant: string | null; seenInTx: number; events: KeyholdEvent[] }> = [];
let failFor: string | null = null;
const consumer: EventConsumer = async (tx: TenantTx, events) => {
  if (scopeTenantId(tx) === failFor) throw new Error('consumer down');
  // What the consumer's transaction can see of the outbox: its own tenant's rows only (RLS).
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from events`.execute(tx);
  received.push({ tenant: scopeTenantId(tx), seenInTx: rows[0]!.n, events });
};

beforeAll(async () => {
  scratch = await migratedScratch();
  services = nodeServices(scratch.db, testRing(), undefined, { eventConsumers: [consumer] });
});
afterAll(async () => {
  await scratch.db.close();
  await scratch.drop();
});

const newTenant = () => services.tenants.create({ actor: systemActor }, { slug: `drain-${crypto.randomUUID().slice(0, 8)}`, name: 'Drain' });
async function connections(tenant: Tenant, n: number) {
  for (let i = 0; i < n; i++) {
    await scratch.db.withTenant(tenant.id, (tx) =>
      services.store.create(tx, { tenantId: tenant.id, provider: services.catalog.get('stripe'), label: `l${i}-${crypto.randomUUID().slice(0, 6)}`, secrets: { apiKey: 'sk_test_x' }, config: {}, status: 'active', createdBy: null }, { source: 'credentials' }));
  }
}
async function pending() {
  const c = new pg.Client({ connectionString: scratch.adminUrl });
  await c.connect();
  try {
    return (await c.query<{ tenant_id: string; n: number }>('select tenant_id, count(*)::int as n from event_queue group by tenant_id')).rows;
  } finally {
    await c.end();
  }
}
const deliveredIds = () => received.flatMap((r) => r.events.map((e) => e.id));

describe('outbox drain', () => {
  it('the pg-boss job hands every event to the consumers once, inside its own tenant, and takes it off the queue', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    await connections(a, 3);
    await connections(b, 2);
    expect((await pending()).reduce((n, r) => n + r.n, 0)).toBe(5);
    const runner = await startJobRunner({ url: jobsRoleUrl(scratch.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    try {
      await registerEventJobs(runner, services.events);
      await runner.runNow(DRAIN_JOB);
      const deadline = Date.now() + 15_000;
      while ((await pending()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await runner.stop();
    }
    expect(await pending()).toEqual([]);
    expect(deliveredIds().length).toBe(5);
    expect(new Set(deliveredIds()).size).toBe(5);
    for (const r of received) {
      expect(r.events.every((e) => e.type === 'connection.created')).toBe(true);
      expect(r.seenInTx).toBe(r.tenant === a.id ? 3 : 2); // a consumer never sees another tenant's events
    }
    expect(new Set(received.map((r) => r.tenant))).toEqual(new Set([a.id, b.id]));
    // Oldest first within a tenant (UUIDv7 ids are time-ordered).
    for (const r of received) expect(r.events.map((e) => e.id)).toEqual([...r.events.map((e) => e.id)].sort());
  });

  it('drains running at once on several nodes never hand an event over twice', async () => {
    received.length = 0;
    const tenants = await Promise.all(Array.from({ length: 4 }, () => newTenant()));
    for (const t of tenants) await connections(t, 5);
    await Promise.all(Array.from({ length: 4 }, () => services.events.drain({ batch: 2 })));
    expect(await pending()).toEqual([]);
    expect(deliveredIds().length).toBe(20);
    expect(new Set(deliveredIds()).size).toBe(20);
  });

  it("a failing consumer leaves that tenant's events pending (nothing marked), the others are dispatched", async () => {
    received.length = 0;
    const [down, fine] = [await newTenant(), await newTenant()];
    await connections(down, 2);
    await connections(fine, 2);
    failFor = down.id;
    try {
      expect(await services.events.drain()).toMatchObject({ dispatched: 2, failed: 1 });
    } finally {
      failFor = null;
    }
    expect(await pending()).toEqual([{ tenant_id: down.id, n: 2 }]);
    expect((await services.events.drain()).dispatched).toBe(2);
    expect(await pending()).toEqual([]);
  });

  it('tenants with queued events come oldest waiting first, as many as asked', async () => {
    // Tenant ids are random, so an order by tenant id would match this one once in 720.
    const tenants = [];
    for (let i = 0; i < 6; i++) tenants.push(await newTenant());
    for (const t of tenants) await connections(t, 1 + (tenants.indexOf(t) % 2));
    await connections(tenants[0]!, 1); // its oldest entry still comes first
    const waiting = async (limit: number) => (await sql<{ id: string }>`select keyhold_tenants_with_pending_events(${limit}) as id`.execute(scratch.db.kysely)).rows.map((r) => r.id);
    expect(await waiting(10)).toEqual(tenants.map((t) => t.id));
    expect(await waiting(2)).toEqual(tenants.slice(0, 2).map((t) => t.id));
    await services.events.drain();
    expect(await waiting(10)).toEqual([]);
  });

  it('queue entries are made by the trigger only, events are never edited, and a tenant cannot take another tenant\'s entries', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    await connections(a, 2);
    const denied = (q: (tx: TenantTx) => Promise<unknown>, tenantId: string) => scratch.db.withTenant(tenantId, q).then(() => 'allowed', (e: Error) => e.message);
    expect(await denied((tx) => sql`insert into event_queue (tenant_id, id) values (${a.id}, ${crypto.randomUUID()})`.execute(tx), a.id)).toMatch(/permission denied/);
    expect(await denied((tx) => sql`update event_queue set id = ${crypto.randomUUID()} where tenant_id = ${a.id}`.execute(tx), a.id)).toMatch(/permission denied/);
    expect(await denied((tx) => sql`update event_queue set tenant_id = ${b.id} where tenant_id = ${a.id}`.execute(tx), a.id)).toMatch(/row-level security/);
    expect(await denied((tx) => sql`update events set type = 'connection.deleted' where tenant_id = ${a.id}`.execute(tx), a.id)).toMatch(/permission denied/);
    expect(await denied((tx) => sql`delete from events where tenant_id = ${a.id}`.execute(tx), a.id)).toMatch(/permission denied/);
    // From b's context, a's entries are invisible: nothing is deleted, nothing taken.
    const taken = await scratch.db.withTenant(b.id, (tx) => sql<{ id: string }>`delete from event_queue where tenant_id = ${a.id} returning id`.execute(tx));
    expect(taken.rows).toEqual([]);
    expect(await pending()).toEqual([{ tenant_id: a.id, n: 2 }]);
    await services.events.drain();
    expect(await pending()).toEqual([]);
  });
});
