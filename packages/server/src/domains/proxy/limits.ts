import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, systemClock } from '../../platform/clock.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import { adapterFor } from '../../providers/registry.js';
import type { Provider } from '../catalog/catalog.js';
import type { LimitsRepo } from './limits.repo.js';

/** A token bucket: holds up to `capacity`, refills at `rate` tokens per second. `window`: the limit it mirrors. */
export type BucketSpec = { name: string; capacity: number; rate: number; window: Window };
/** `key` names the set of buckets a call takes from (leases are per set). */
export type LimitPlan = { key: string; buckets: BucketSpec[]; concurrent?: number };
/** What the limits of one call depend on: which operation it is and the connection's own figures. */
export type LimitCall = { method?: string; path?: string; config?: Record<string, string> };
type Window = 'second' | 'minute' | 'hour' | 'day';
const WINDOW_SECONDS: Record<Window, number> = { second: 1, minute: 60, hour: 3600, day: 86_400 };
type Figures = { perSecond?: number | undefined; burst?: number | undefined; perMinute?: number | undefined; perHour?: number | undefined; perDay?: number | undefined };

/**
 * Turns catalog figures into buckets that can never exceed them in any window. A leaky
 * bucket (e.g. 40, 2/s) is mirrored as is. "L per window W" becomes a burst B plus a refill
 * of (L - B - 1)/W, so even a burst followed by the refill stays within L in every window of length W
 * (B = 20 % of L: 60/min allows 12 at once, then one every ~1.28 s).
 */
function bucketsOf(r: Figures, prefix: string): BucketSpec[] {
  const buckets: BucketSpec[] = [];
  // A request granted here reaches the provider a little later, and not always in grant order:
  // one call of headroom keeps that jitter from ever showing up as the provider's own 429.
  if (r.perSecond) {
    const burst = r.burst ?? Math.max(1, Math.floor(r.perSecond));
    buckets.push({ name: `${prefix}second`, window: 'second', capacity: Math.max(1, burst - 1), rate: r.perSecond });
  }
  const windows: Array<[Window, number | undefined, number]> = [['minute', r.perMinute, 60], ['hour', r.perHour, 3600], ['day', r.perDay, 86_400]];
  for (const [window, limit, seconds] of windows) {
    if (!limit) continue;
    const burst = Math.max(1, Math.floor(limit * 0.2));
    buckets.push({ name: `${prefix}${window}`, window, capacity: burst, rate: Math.max(1, limit - burst - 1) / seconds });
  }
  return buckets;
}

/**
 * The catalog's figures with the ones this connection sets itself (`rateLimits.fromConfig`: e.g.
 * a daily limit that depends on the account's plan). A value that is not a positive number
 * leaves the catalog's figure in force.
 */
function connectionFigures(provider: Provider, config: Record<string, string> | undefined) {
  const r = { ...(provider.rateLimits ?? {}) };
  for (const [figure, field] of Object.entries(r.fromConfig ?? {})) {
    const v = Number(config?.[field!]);
    if (!Number.isFinite(v) || v <= 0) continue;
    const value = figure === 'perSecond' ? v : Math.max(1, Math.floor(v));
    // Concurrency slots are rows in Postgres: a connection may lower the catalog's figure, never raise it.
    r[figure as keyof Figures | 'concurrent'] = figure === 'concurrent' && r.concurrent ? Math.min(r.concurrent, value) : value;
  }
  return r;
}

type Operation = NonNullable<NonNullable<Provider['rateLimits']>['operations']>[number];
const patterns = new WeakMap<Operation, RegExp>();
function matches(op: Operation, method: string, path: string) {
  let re = patterns.get(op);
  if (!re) {
    // Segments are [A-Za-z0-9._~-] (the schema says so): only the dot needs escaping.
    re = new RegExp(`^${op.path.split('/').map((seg) => (seg === '*' ? '[^/]+' : seg.replaceAll('.', '\\.'))).join('/')}/?$`);
    patterns.set(op, re);
  }
  return op.method === method.toUpperCase() && re.test(path);
}

/**
 * Bucket names are `[a-z_]` in the database: an operation's are `o_<10-letter digest of its
 * name>_<window>`, stable as long as the catalog keeps the operation's name.
 */
const operationPrefix = (name: string) => `o_${[...createHash('sha256').update(name).digest().subarray(0, 10)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}_`;

/**
 * The buckets one call takes from. A call matching one of the catalog's `operations` takes from
 * that operation's own buckets (per connection), which replace the default figure of the same
 * window; the default's other windows still apply. Every other call takes from the defaults.
 */
export function limitPlan(provider: Provider, call: LimitCall = {}): LimitPlan {
  const r = connectionFigures(provider, call.config);
  let buckets = bucketsOf(r, '');
  const path = (call.path ?? '').split('?')[0]!;
  const op = call.method ? r.operations?.find((o) => matches(o, call.method!, path)) : undefined;
  if (op) {
    const own = bucketsOf(op, operationPrefix(op.name));
    buckets = [...buckets.filter((b) => !own.some((o) => o.window === b.window)), ...own];
  }
  return { key: buckets.map((b) => b.name).join(','), buckets, ...(r.concurrent ? { concurrent: r.concurrent } : {}) };
}

/**
 * `limitPlan`, computed once per provider and connection config when the plan cannot depend on
 * the call's method and path (no per-operation limits): it was built twice on every proxy call.
 * Keyed by the config object, which a warm connection keeps until the connection changes.
 */
const plainPlans = new WeakMap<Provider, WeakMap<object, LimitPlan>>();
const NO_CONFIG = {};
function planFor(provider: Provider, call: LimitCall = {}): LimitPlan {
  if (provider.rateLimits?.operations?.length) return limitPlan(provider, call);
  let byConfig = plainPlans.get(provider);
  if (!byConfig) plainPlans.set(provider, (byConfig = new WeakMap()));
  const key = call.config ?? NO_CONFIG;
  let plan = byConfig.get(key);
  if (!plan) byConfig.set(key, (plan = limitPlan(provider, call)));
  return plan;
}

/** How many tokens one process leases at a time: ~200 ms of refill, at least 1, at most a quarter of the bucket. */
const leaseSize = (b: BucketSpec) => Math.max(1, Math.min(Math.floor(b.rate * 0.2), Math.floor(b.capacity / 4)));
/** Leased tokens not used within this time are dropped (never given back: the total stays within the limit). */
const LEASE_MS = 1000;
const SLOT_LEASE_MS = 120_000;

export type Permit = { release(): Promise<void> };

export type LimiterDeps = {
  repo: LimitsRepo;
  tenancy: Tenancy;
  /** The injected clock (lease expiry, deadlines, HTTP-date Retry-After); the wall clock by default. */
  clock?: Clock;
  onLimited?: (provider: string, source: 'keyhold' | 'provider') => void;
};

/**
 * Proactive rate limits per connection, shared by every Keyhold process through Postgres.
 * Each process leases a few tokens at a time (one round trip per lease) and spends them locally.
 */
export function createRateLimiter(deps: LimiterDeps) {
  const { repo, tenancy } = deps;
  const now = () => (deps.clock ?? systemClock)().getTime();
  const leases = new Map<string, { tokens: number; until: number }>();

  /** Takes one token from the local lease, or leases more from Postgres. Returns ms to wait when empty. */
  async function takeToken(tenantId: string, connectionId: string, plan: LimitPlan): Promise<number> {
    const leaseKey = `${connectionId}\u0000${plan.key}`;
    const local = leases.get(leaseKey);
    if (local && local.tokens >= 1 && local.until > now()) {
      local.tokens -= 1;
      return 0;
    }
    const want = Math.min(...plan.buckets.map(leaseSize));
    const taken = await tenancy.withTenant(tenantId, async (tx) => {
      await repo.relaxDurability(tx);
      const t = await repo.take(tx, tenantId, connectionId, plan.buckets, want);
      const granted = Math.min(...t.map((x) => x.granted));
      for (const x of t) if (x.granted > granted) await repo.giveBack(tx, connectionId, x.name, x.granted - granted);
      return { granted, t };
    });
    if (taken.granted >= 1) {
      // Parallel calls lease at the same time: each adds its batch to what the others left, or
      // the tokens they took from Postgres would be lost and the burst cut to a fraction.
      const left = leases.get(leaseKey);
      const kept = left && left.until > now() ? left.tokens : 0;
      leases.set(leaseKey, { tokens: kept + taken.granted - 1, until: now() + LEASE_MS });
      return 0;
    }
    // Postgres is empty, but a parallel call may have leased a batch meanwhile: use it, never drop it.
    const leased = leases.get(leaseKey);
    if (leased && leased.tokens >= 1 && leased.until > now()) {
      leased.tokens -= 1;
      return 0;
    }
    leases.delete(leaseKey);
    // The longest of: each empty bucket's time to one token, or the provider's block.
    return Math.max(1, ...taken.t.map((x) => Math.max(x.blockedForMs, x.tokens >= 1 ? 0 : ((1 - x.tokens) / x.rate) * 1000)));
  }

  /**
   * Waits (up to `maxWaitMs`) for room under every limit of the connection, then holds a
   * concurrency slot where the provider limits concurrency. Throws 429 RATE_LIMITED otherwise.
   */
  async function acquire(tenantId: string, connectionId: string, provider: Provider, opts: { maxWaitMs: number; call?: LimitCall; onWait?: (ms: number) => void }): Promise<Permit> {
    const plan = planFor(provider, opts.call);
    const deadline = now() + opts.maxWaitMs;
    const limited = (waitMs: number, what: string) => {
      deps.onLimited?.(provider.id, 'keyhold');
      const s = Math.max(1, Math.ceil(waitMs / 1000));
      return new AppError('RATE_LIMITED', `${provider.displayName} allows ${what}; retry in ${s} s or send X-Keyhold-Max-Wait to let Keyhold wait`, { headers: { 'retry-after': String(s) } });
    };
    if (plan.buckets.length) {
      for (;;) {
        const wait = await takeToken(tenantId, connectionId, plan);
        if (wait === 0) break;
        if (now() + wait > deadline) throw limited(wait, 'no more requests right now');
        opts.onWait?.(wait);
        await sleep(wait);
      }
    }
    if (!plan.concurrent) return { release: async () => undefined };
    const holder = randomUUID();
    for (;;) {
      const slot = await tenancy.withTenant(tenantId, async (tx) => {
        await repo.relaxDurability(tx);
        return repo.takeSlot(tx, tenantId, connectionId, plan.concurrent!, holder, SLOT_LEASE_MS);
      });
      if (slot !== null) break;
      if (now() + 100 > deadline) throw limited(1000, `${plan.concurrent} requests at a time`);
      const pause = 50 + Math.random() * 50;
      opts.onWait?.(pause);
      await sleep(pause);
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await tenancy.withTenant(tenantId, async (tx) => {
          await repo.relaxDurability(tx);
          await repo.releaseSlot(tx, connectionId, holder);
        });
      },
    };
  }

  /**
   * Reactive: what the provider's answer says about its limits. A 429 (Retry-After) blocks the
   * buckets this call took from (an operation's 429 leaves the connection's other operations
   * alone); the remaining calls the provider's own headers report (its adapter's `rateSignals`)
   * clamp this call's bucket of that window, and none left under a stated limit blocks it for one
   * call's share of the window. Local leases are dropped so every process sees it at once.
   */
  async function observe(tenantId: string, connectionId: string, provider: Provider, status: number, headers: Record<string, string | string[] | undefined>, call: LimitCall = {}) {
    const h = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const plan = planFor(provider, call);
    const clamps: Array<{ name: string; tokens: number | null; blockedForMs: number | null }> = [];
    if (status === 429) {
      deps.onLimited?.(provider.id, 'provider');
      const blockedForMs = retryAfterMs(h('retry-after'), now()) ?? 1000;
      // Every bucket waits out the block, but only the shortest window starts again empty: a
      // minute's 429 must not also spend the day's budget.
      const shortest = Math.min(...plan.buckets.map((b) => WINDOW_SECONDS[b.window]));
      for (const b of plan.buckets) clamps.push({ name: b.name, tokens: WINDOW_SECONDS[b.window] === shortest ? 0 : null, blockedForMs });
    }
    for (const s of adapterFor(provider).rateSignals?.(h) ?? []) {
      const bucket = plan.buckets.find((b) => b.window === s.bucket);
      if (!bucket) continue;
      // None left under a limit the provider states: its next call is free one share of the window
      // later at the provider's rate. The bucket refills at the catalog's, which may be far higher.
      const blockedForMs = s.remaining < 1 && s.limit ? (WINDOW_SECONDS[s.bucket] * 1000) / s.limit : null;
      clamps.push({ name: bucket.name, tokens: s.remaining, blockedForMs });
    }
    // Only a clamp that tightens matters; plain successes stay off the database.
    const tight = clamps.filter((c) => c.blockedForMs !== null || (c.tokens !== null && c.tokens < 2));
    if (!tight.length) return;
    for (const key of leases.keys()) if (key.startsWith(`${connectionId}\u0000`)) leases.delete(key);
    await tenancy.withTenant(tenantId, async (tx) => {
      // Name order, like every lock on these rows (limits.repo.ts).
      for (const c of tight.sort((x, y) => (x.name < y.name ? -1 : 1))) await repo.clamp(tx, connectionId, c.name, c.tokens, c.blockedForMs);
    });
  }

  return { acquire, observe };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** `Retry-After` as seconds or an HTTP date, in ms. */
export function retryAfterMs(value: string | undefined, nowMs = Date.now()): number | null {
  if (!value) return null;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
