import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../test-support/index.js';
import { type JobRunner, startJobRunner } from './jobs.js';

const SLOT_SECONDS = 10;
let jobs: JobRunner;
let db: pg.Client;
beforeAll(async () => {
  jobs = await startJobRunner({ url: inject('jobsUrl'), log: silentLogger() });
  db = new pg.Client({ connectionString: inject('jobsUrl') });
  await db.connect();
});
afterAll(async () => {
  await db.end();
  await jobs.stop().catch(() => undefined);
});

/** Waits until the database's clock is `offsetMs` into a debounce slot. */
async function intoSlot(offsetMs: number) {
  const { rows } = await db.query<{ ms: string }>('select extract(epoch from clock_timestamp()) * 1000 as ms');
  const into = Number(rows[0]!.ms) % (SLOT_SECONDS * 1000);
  await new Promise((r) => setTimeout(r, (offsetMs - into + SLOT_SECONDS * 1000) % (SLOT_SECONDS * 1000)));
}
const jobsOf = async (name: string, key = 'k') => (await db.query<{ n: number }>('select count(*)::int as n from pgboss.job where name = $1 and singleton_key = $2', [name, key])).rows[0]!.n;

describe('debounced sends', () => {
  it('a burst of sends of one key makes two jobs (its slot and the next); later sends in the slot create nothing, and the next slot takes one again', async () => {
    const name = `debounce-test-${crypto.randomUUID().slice(0, 8)}`;
    const send = (key = 'k') => jobs.send(name, { at: Date.now() }, { singletonKey: key, debounceSeconds: SLOT_SECONDS });
    await send('warm-up'); // the queue's table is created by the first send
    await intoSlot(300);
    const burst = await Promise.all(Array.from({ length: 20 }, () => send()));
    expect(burst.filter((id) => id !== null)).toHaveLength(2);
    expect(await jobsOf(name)).toBe(2);
    await new Promise((r) => setTimeout(r, 1_200)); // past the margin after the slot's start
    expect(await send()).toBeNull();
    // In the next slot (already taken by the burst) the slot after it is free: a send creates it.
    await intoSlot(1_500);
    expect(await send()).not.toBeNull();
    expect(await jobsOf(name)).toBe(3);
  }, 40_000);

  it('once a send found both slots full, the node answers for that key without the database (it is stopped here); another key still needs it', async () => {
    const name = `debounce-memo-${crypto.randomUUID().slice(0, 8)}`;
    const send = (key: string) => jobs.send(name, {}, { singletonKey: key, debounceSeconds: SLOT_SECONDS });
    await send('warm-up');
    await intoSlot(1_200);
    for (let i = 0; i < 3; i++) await send('k');
    await jobs.stop();
    expect(await send('k')).toBeNull();
    await expect(send('other')).rejects.toThrow();
  }, 20_000);
});
