import { sql } from 'kysely';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import type { BucketSpec } from './limits.js';

/** `blockedForMs`: how long the provider's block still lasts, measured by the database's clock. */
export type Taken = { name: string; granted: number; tokens: number; rate: number; blockedForMs: number };

/** All SQL of the rate limiter. Times are the database's (`now()`), shared by every process. */
export function createLimitsRepo() {
  /**
   * Refills and takes up to `want` whole tokens from each listed bucket in one statement. The
   * rows are locked first (FOR UPDATE returns their newest version), so two processes never
   * grant the same tokens; always in name order, because calls of different operations lock
   * overlapping sets of one connection's buckets (any other order can deadlock). Time is the wall clock at the moment of the lock (not the
   * transaction start), and `updated_at` never moves back, so no interval is refilled twice.
   * Returns fewer rows than buckets when some do not exist yet.
   */
  async function takeExisting(tx: TenantTx, connectionId: string, buckets: BucketSpec[], want: number): Promise<Taken[]> {
    const { rows } = await sql<{ name: string; granted: number; tokens: number; rate: number; blocked_ms: number | string }>`
      with spec as (
        select * from unnest(${buckets.map((b) => b.name)}::text[], ${buckets.map((b) => b.capacity)}::float8[], ${buckets.map((b) => b.rate)}::float8[]) as s(name, capacity, rate)
      ), cur as (
        select b.connection_id, b.name, spec.capacity, spec.rate, t.ts,
               least(spec.capacity, b.tokens + greatest(0, extract(epoch from (t.ts - b.updated_at))) * spec.rate) as r,
               coalesce(b.blocked_until > t.ts, false) as blocked
        from rate_buckets b join spec using (name) cross join (select clock_timestamp() as ts) t
        where b.tenant_id = ${scopeTenantId(tx)}::uuid and b.connection_id = ${connectionId}
        order by b.name
        for update of b
      )
      update rate_buckets b set tokens = cur.r - g.granted, capacity = cur.capacity, rate = cur.rate, updated_at = greatest(b.updated_at, cur.ts)
      from cur cross join lateral (select case when cur.blocked then 0 else least(${want}::float8, floor(cur.r)) end as granted) g
      where b.tenant_id = ${scopeTenantId(tx)}::uuid and b.connection_id = cur.connection_id and b.name = cur.name
      returning b.name, g.granted, b.tokens, b.rate, greatest(0, coalesce(extract(epoch from (b.blocked_until - cur.ts)) * 1000, 0))::float8 as blocked_ms`.execute(tx);
    return rows.map((r) => ({ name: r.name, granted: Number(r.granted), tokens: Number(r.tokens), rate: Number(r.rate), blockedForMs: Number(r.blocked_ms) }));
  }

  return {
    /**
     * Bucket state is worth a round trip, not a disk flush: these transactions commit without
     * waiting for the WAL (a database crash could forget the last few milliseconds of takes).
     */
    relaxDurability: (tx: TenantTx) => sql`set local synchronous_commit = off`.execute(tx),
    async take(tx: TenantTx, tenantId: string, connectionId: string, buckets: BucketSpec[], want: number): Promise<Taken[]> {
      const taken = await takeExisting(tx, connectionId, buckets, want);
      if (taken.length === buckets.length) return taken;
      // Name order, like every lock on these rows: two first calls creating overlapping sets must not deadlock.
      for (const b of [...buckets].sort((x, y) => (x.name < y.name ? -1 : 1))) {
        await sql`insert into rate_buckets (tenant_id, connection_id, name, capacity, rate, tokens, updated_at)
                  values (${tenantId}, ${connectionId}, ${b.name}, ${b.capacity}, ${b.rate}, ${b.capacity}, now())
                  on conflict do nothing`.execute(tx);
      }
      return takeExisting(tx, connectionId, buckets, want);
    },
    /** Gives back tokens taken from one bucket but not usable because another bucket was empty. */
    giveBack: (tx: TenantTx, connectionId: string, name: string, n: number) =>
      sql`update rate_buckets set tokens = least(capacity, tokens + ${n}) where tenant_id = ${scopeTenantId(tx)}::uuid and connection_id = ${connectionId} and name = ${name}`.execute(tx),
    /**
     * What the provider said: at most `tokens` left, and/or nothing until `blockedForMs` passed.
     * "At most N left" holds now, so the refill counts from now: otherwise the time the call spent
     * at the provider would be refilled on top of the provider's own count.
     */
    clamp: (tx: TenantTx, connectionId: string, name: string | null, tokens: number | null, blockedForMs: number | null) =>
      sql`update rate_buckets b set
            tokens = case when ${tokens}::float8 is null then b.tokens else least(b.tokens, ${tokens}::float8) end,
            updated_at = case when ${tokens}::float8 is null then b.updated_at else greatest(b.updated_at, clock_timestamp()) end,
            blocked_until = case when ${blockedForMs}::float8 is null then b.blocked_until
                                 else greatest(coalesce(b.blocked_until, now()), now() + make_interval(secs => ${blockedForMs}::float8 / 1000)) end
          from (select name from rate_buckets where tenant_id = ${scopeTenantId(tx)}::uuid and connection_id = ${connectionId} and (${name}::text is null or name = ${name})
                order by name for update) locked
          where b.tenant_id = ${scopeTenantId(tx)}::uuid and b.connection_id = ${connectionId} and b.name = locked.name`.execute(tx),

    /** Takes a free concurrency slot (creating the connection's slots on first use); null when all are held. */
    async takeSlot(tx: TenantTx, tenantId: string, connectionId: string, slots: number, holder: string, leaseMs: number): Promise<number | null> {
      const attempt = () => sql<{ slot: number }>`
        update rate_slots set holder = ${holder}, held_until = now() + make_interval(secs => ${leaseMs}::float8 / 1000)
        where tenant_id = ${tenantId}::uuid and (connection_id, slot) = (
          select connection_id, slot from rate_slots
          where tenant_id = ${tenantId}::uuid and connection_id = ${connectionId} and slot < ${slots} and held_until < now()
          limit 1 for update skip locked)
        returning slot`.execute(tx);
      let { rows } = await attempt();
      if (rows.length === 0) {
        const { rows: exist } = await sql<{ n: number }>`select count(*)::int as n from rate_slots where tenant_id = ${tenantId}::uuid and connection_id = ${connectionId}`.execute(tx);
        if ((exist[0]?.n ?? 0) >= slots) return null;
        await sql`insert into rate_slots (tenant_id, connection_id, slot)
                  select ${tenantId}, ${connectionId}, g from generate_series(0, ${slots - 1}) g on conflict do nothing`.execute(tx);
        ({ rows } = await attempt());
      }
      return rows[0]?.slot ?? null;
    },
    releaseSlot: (tx: TenantTx, connectionId: string, holder: string) =>
      sql`update rate_slots set holder = null, held_until = '-infinity' where tenant_id = ${scopeTenantId(tx)}::uuid and connection_id = ${connectionId} and holder = ${holder}`.execute(tx),
  };
}
export type LimitsRepo = ReturnType<typeof createLimitsRepo>;
