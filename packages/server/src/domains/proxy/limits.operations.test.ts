import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import type { Db } from '../../platform/db/database.js';
import { testDb, testServices } from '../../test-support/index.js';
import { type Provider, validateProvider } from '../catalog/catalog.schema.js';
import { type LimitCall, createRateLimiter, limitPlan } from './limits.js';
import { createLimitsRepo } from './limits.repo.js';

/**
 * Per-operation buckets and per-connection figures, on a fictional provider (the limiter is
 * generic). Refill rates are tiny (0.01/s), so each parallel burst measures the bucket's size
 * exactly: a burst of B-1 (one call of headroom, ADR 0003) and not one call more.
 */
const entry = (rateLimits: Record<string, unknown>, configFields: Array<Record<string, unknown>> = []) => {
  const checked = validateProvider({
    id: 'fictional', displayName: 'Fictional', category: 'Custom', docs: 'docs/providers/fictional.md', reviewedAt: '2026-11-27', authMode: 'api_key', baseUrl: 'https://api.fictional.example',
    credentialFields: [{ name: 'apiKey', label: 'Key', secret: true }], configFields, inject: { headers: { 'x-key': '{{apiKey}}' } }, rateLimits,
  });
  if (!checked.ok) throw new Error(checked.problems);
  return checked.provider;
};

const OPERATIONS = entry({
  perSecond: 0.01, burst: 4,
  operations: [
    { name: 'listParticipations', method: 'GET', path: '/sellers/v1/participations', perSecond: 0.01, burst: 11 },
    { name: 'getItem', method: 'GET', path: '/items/*', perSecond: 0.01, burst: 6 },
  ],
});

let db: Db;
let tenantId: string;
let limiter: ReturnType<typeof createRateLimiter>;
beforeAll(async () => {
  db = testDb();
  tenantId = (await testServices(db).newTenant('oplimits')).id;
  limiter = createRateLimiter({ repo: createLimitsRepo(), tenancy: db });
});
afterAll(() => db.close());

/** `n` calls at once, none willing to wait: how many the limiter let through. */
async function burst(provider: Provider, connectionId: string, n: number, call: LimitCall) {
  const results = await Promise.all(Array.from({ length: n }, () =>
    limiter.acquire(tenantId, connectionId, provider, { maxWaitMs: 0, call }).then(() => 'ok' as const, (err: unknown) => {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') return 'limited' as const;
      throw err;
    })));
  return results.filter((r) => r === 'ok').length;
}

describe('rate limits per operation', () => {
  it("each operation has its own bucket per connection: an empty one does not throttle another operation's calls", async () => {
    const conn = randomUUID();
    expect(await burst(OPERATIONS, conn, 30, { method: 'GET', path: '/sellers/v1/participations' })).toBe(10);
    // The participations bucket is empty now; items and unlisted paths still have theirs.
    expect(await burst(OPERATIONS, conn, 30, { method: 'GET', path: '/items/B00X?detail=true' })).toBe(5);
    expect(await burst(OPERATIONS, conn, 30, { method: 'GET', path: '/items/B00Y' })).toBe(0);
    expect(await burst(OPERATIONS, conn, 30, { method: 'GET', path: '/anything/else' })).toBe(3);
    // Another method on a listed path is another operation: it takes from the default bucket.
    expect(await burst(OPERATIONS, conn, 5, { method: 'POST', path: '/sellers/v1/participations' })).toBe(0);
    // Another connection of the same provider starts full.
    expect(await burst(OPERATIONS, randomUUID(), 30, { method: 'GET', path: '/sellers/v1/participations' })).toBe(10);
  });

  it("a provider's 429 blocks every bucket of the call but empties only the shortest window: a minute's 429 leaves the day's budget", async () => {
    const perDay = entry({ perMinute: 600, perDay: 100_000 }); // bursts: 120 a minute, 20,000 a day
    const conn = randomUUID();
    expect(await burst(perDay, conn, 5, {})).toBe(5);
    await limiter.observe(tenantId, conn, perDay, 429, { 'retry-after': '30' });
    expect(await burst(perDay, conn, 5, {})).toBe(0);
    const { rows } = await db.withTenant(tenantId, (tx) => sql<{ name: string; tokens: number; blocked: boolean }>`
      select name, tokens, blocked_until > now() as blocked from rate_buckets where tenant_id = ${tenantId} and connection_id = ${conn} order by name`.execute(tx));
    expect(rows.map((r) => [r.name, r.blocked])).toEqual([['day', true], ['minute', true]]);
    expect(Number(rows.find((r) => r.name === 'minute')!.tokens)).toBeLessThan(1);
    expect(Number(rows.find((r) => r.name === 'day')!.tokens)).toBeGreaterThan(19_000);
  });

  it("an operation replaces only the default figure of its own window; the connection's other windows still count its calls", async () => {
    const daily = entry({ perDay: 25, operations: [{ name: 'fast', method: 'GET', path: '/fast', perSecond: 0.01, burst: 21 }] });
    expect(limitPlan(daily, { method: 'GET', path: '/fast' }).buckets.map((b) => b.window).sort()).toEqual(['day', 'second']);
    // The day bucket (burst 20 % of 25 = 5) runs out long before the operation's 20.
    expect(await burst(daily, randomUUID(), 30, { method: 'GET', path: '/fast' })).toBe(5);
  });

  it("a provider's 429 blocks the buckets of the operation that got it, not the connection's other operations", async () => {
    const conn = randomUUID();
    expect(await burst(OPERATIONS, conn, 1, { method: 'GET', path: '/items/1' })).toBe(1);
    expect(await burst(OPERATIONS, conn, 1, { method: 'GET', path: '/sellers/v1/participations' })).toBe(1);
    await limiter.observe(tenantId, conn, OPERATIONS, 429, { 'retry-after': '60' }, { method: 'GET', path: '/items/1' });
    expect(await burst(OPERATIONS, conn, 3, { method: 'GET', path: '/items/2' })).toBe(0);
    expect(await burst(OPERATIONS, conn, 3, { method: 'GET', path: '/sellers/v1/participations' })).toBe(3);
  });
});

describe('rate limits a connection sets itself (rateLimits.fromConfig)', () => {
  const plan = entry(
    { perMinute: 60, perDay: 50, fromConfig: { perDay: 'dailyLimit' } },
    [{ name: 'dailyLimit', label: 'Daily limit of your plan', secret: false, required: false }],
  );

  it("a connection's config replaces the catalog's figure; a missing or malformed value leaves the catalog's", async () => {
    // Day bucket burst: 20 % of the daily limit (50 → 10, 20 → 4); the minute bucket (12) is larger.
    expect(await burst(plan, randomUUID(), 20, { method: 'GET', path: '/x', config: { dailyLimit: '20' } })).toBe(4);
    expect(await burst(plan, randomUUID(), 20, { method: 'GET', path: '/x', config: {} })).toBe(10);
    expect(await burst(plan, randomUUID(), 20, { method: 'GET', path: '/x', config: { dailyLimit: 'plenty' } })).toBe(10);
    expect(await burst(plan, randomUUID(), 20, { method: 'GET', path: '/x', config: { dailyLimit: '-5' } })).toBe(10);
  });

  it("a connection's larger figure gives its whole burst to parallel calls: tokens leased in batches are not lost between them", async () => {
    // 2,000 a minute: a burst of 400 and ~27 a second, leased 5 at a time.
    const perMinute = entry({ perMinute: 50, fromConfig: { perMinute: 'rpm' } }, [{ name: 'rpm', label: 'Requests per minute', secret: false, required: false }]);
    const started = Date.now();
    const granted = await burst(perMinute, randomUUID(), 600, { config: { rpm: '2000' } });
    const refilled = Math.ceil(((Date.now() - started) / 1000) * ((2000 - 400 - 1) / 60));
    expect(granted).toBeGreaterThanOrEqual(400);
    expect(granted).toBeLessThanOrEqual(400 + refilled);
  });

  it('a changed config applies to the existing bucket at once (the bucket shrinks, it is not recreated)', async () => {
    const conn = randomUUID();
    expect(await burst(plan, conn, 2, { method: 'GET', path: '/x', config: { dailyLimit: '50' } })).toBe(2);
    expect(await burst(plan, conn, 20, { method: 'GET', path: '/x', config: { dailyLimit: '20' } })).toBe(4);
  });

  it('the catalog refuses overrides from a secret or undeclared field, bad operation paths and duplicate operations', () => {
    const bad = (rateLimits: Record<string, unknown>, problem: RegExp) => {
      const r = validateProvider({
        id: 'fictional', displayName: 'F', category: 'Custom', docs: 'docs/providers/fictional.md', reviewedAt: '2026-11-27', authMode: 'api_key', baseUrl: 'https://api.fictional.example',
        credentialFields: [{ name: 'apiKey', label: 'Key', secret: true }], configFields: [{ name: 'token', label: 'T', secret: true }],
        inject: { headers: { 'x-key': '{{apiKey}}' } }, rateLimits,
      });
      expect(r.ok ? '' : r.problems).toMatch(problem);
    };
    bad({ perDay: 5, fromConfig: { perDay: 'token' } }, /rateLimits\.fromConfig\.perDay: 'token' is not a non-secret config field/);
    bad({ perDay: 5, fromConfig: { perDay: 'apiKey' } }, /rateLimits\.fromConfig\.perDay: 'apiKey' is not a non-secret config field/);
    bad({ perDay: 5, fromConfig: { perWeek: 'x' } }, /rateLimits\.fromConfig/);
    bad({ operations: [{ name: 'a', method: 'GET', path: '/a/**', perSecond: 1 }] }, /rateLimits\.operations\[0\]\.path/);
    bad({ operations: [{ name: 'a', method: 'GET', path: '/a?b=c', perSecond: 1 }] }, /rateLimits\.operations\[0\]\.path/);
    bad({ operations: [{ name: 'a', method: 'GET', path: '/a' }] }, /names no limit/);
    bad({ operations: [{ name: 'a', method: 'GET', path: '/a', perSecond: 1 }, { name: 'a', method: 'GET', path: '/b', perSecond: 1 }] }, /operation 'a' is listed twice/);
  });
});
