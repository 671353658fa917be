import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedScratch } from '../../test-support/index.js';
import { createConnectionsRepo } from '../connections/connections.repo.js';

// The sweep's claim is cross-tenant: a scratch database keeps other test files' connections out.
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let admin: pg.Client;
let repo: ReturnType<typeof createConnectionsRepo>;
const now = new Date();
const at = (s: number) => new Date(now.getTime() + s * 1000);
const claim = (limit: number) => repo.claimRefreshBatch(randomUUID(), now, at(300), at(30), limit);

beforeAll(async () => {
  scratch = await migratedScratch();
  admin = new pg.Client({ connectionString: scratch.adminUrl });
  await admin.connect();
  repo = createConnectionsRepo(scratch.db.kysely);
});
afterAll(async () => {
  await admin?.end();
  await scratch?.db.close();
  await scratch?.drop();
});

async function tenant() {
  const { rows } = await admin.query(`insert into tenants (slug, name) values ($1, 'Claim test') returning id`, [`claim-${randomUUID().slice(0, 8)}`]);
  return rows[0].id as string;
}

/** A connection whose token expires `inS` seconds from now (columns as given override the defaults). */
async function conn(tenantId: string, inS: number | null, extra: Record<string, unknown> = {}) {
  const row = { id: randomUUID(), tenant_id: tenantId, provider: 'xero', label: `l-${randomUUID().slice(0, 8)}`, auth_mode: 'oauth2', secrets: 'kh1.1.AAAA', token_expires_at: inS === null ? null : at(inS), ...extra };
  const cols = Object.keys(row);
  await admin.query(`insert into connections (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
  return row.id;
}

const ids = (claimed: Array<{ id: string }>) => new Set(claimed.map((c) => c.id));

describe('refresh claim', () => {
  it('takes the tenant of the most urgent connection first and its due connections together, then the next tenant', async () => {
    const [a, b] = [await tenant(), await tenant()];
    // Urgency alternates between the tenants.
    const a1 = await conn(a, 10);
    const b1 = await conn(b, 20);
    const a2 = await conn(a, 30);
    const b2 = await conn(b, 40);
    const a3 = await conn(a, 50);
    const b3 = await conn(b, 60);
    expect(ids(await claim(3))).toEqual(new Set([a1, a2, a3]));
    expect(ids(await claim(3))).toEqual(new Set([b1, b2, b3]));
    expect(await claim(3)).toEqual([]);
  });

  it('does not pull a tenant\'s later connections ahead of another tenant\'s urgent one (beyond a fifth of the margin)', async () => {
    const [a, b] = [await tenant(), await tenant()];
    const a1 = await conn(a, 10);
    const aLater = await conn(a, 200); // 190 s after a1: outside the 60 s window
    const b1 = await conn(b, 20);
    expect(ids(await claim(2))).toEqual(new Set([a1, b1]));
    expect(ids(await claim(2))).toEqual(new Set([aLater]));
  });

  it('never claims what must not be refreshed now: leased, backing off, needs a reconnect, disabled, not due, not expiring', async () => {
    const t = await tenant();
    await conn(t, 10, { refresh_lease_owner: randomUUID(), refresh_lease_until: at(20) });
    await conn(t, 10, { next_refresh_at: at(60) });
    await conn(t, -10, { status: 'needs_reauth' });
    await conn(t, 10, { status: 'disabled', is_active: false });
    await conn(t, 3600);
    await conn(t, null);
    const due = await conn(t, 100);
    const expiredLease = await conn(t, 5, { refresh_lease_owner: randomUUID(), refresh_lease_until: at(-1) });
    const claimed = new Set<string>();
    for (let batch = await claim(50); batch.length; batch = await claim(50)) for (const c of batch) claimed.add(c.id);
    expect(claimed).toEqual(new Set([expiredLease, due]));
  });

  it('a claim running while another holds the most urgent rows takes the next tenants, not nothing', async () => {
    const [a, b] = [await tenant(), await tenant()];
    for (let i = 0; i < 5; i++) await conn(a, 10 + i);
    const bIds = new Set<string>();
    for (let i = 0; i < 5; i++) bIds.add(await conn(b, 100 + i));
    const other = new pg.Client({ connectionString: scratch.adminUrl });
    await other.connect();
    try {
      // Another node's claim of A's rows, not yet committed: its locks are held.
      await other.query('begin');
      const first = await other.query('select * from keyhold_claim_refresh_batch($1, $2, $3, $4, $5)', [randomUUID(), now, at(300), at(30), 5]);
      expect(first.rows).toHaveLength(5);
      expect(ids(await claim(5))).toEqual(bIds);
      await other.query('commit');
    } finally {
      await other.end();
    }
  });

  it('parallel sweeps never claim one connection twice', async () => {
    const tenants = await Promise.all(Array.from({ length: 4 }, tenant));
    const made = new Set<string>();
    for (let i = 0; i < 120; i++) made.add(await conn(tenants[i % 4]!, 1 + (i * 7) % 240));
    const claimedBy = await Promise.all(Array.from({ length: 8 }, async () => {
      const mine: string[] = [];
      for (let batch = await claim(7); batch.length; batch = await claim(7)) mine.push(...batch.map((c) => c.id));
      return mine;
    }));
    const all = claimedBy.flat();
    expect(all).toHaveLength(made.size);
    expect(new Set(all)).toEqual(made);
  });

  it('a sweep whose lease another node took over writes nothing for that row, and the rest of its batch as usual', async () => {
    const t = await tenant();
    const [kept, takenOver] = [await conn(t, 10), await conn(t, 20)];
    const lease = randomUUID();
    expect(ids(await repo.claimRefreshBatch(lease, now, at(300), at(30), 10))).toEqual(new Set([kept, takenOver]));
    // The lease ran out on one row; another node took it, refreshed and wrote version 2.
    const other = randomUUID();
    await admin.query('update connections set refresh_lease_owner = $2, refresh_lease_until = $3 where id = $1', [takenOver, other, at(60)]);
    await scratch.db.withTenant(t, (tx) => repo.writeManyUnderLease(tx, other, [{ id: takenOver, secrets: 'kh1.1.NEWER', expiresAt: at(1800), version: 2 }]));
    const written = await scratch.db.withTenant(t, (tx) => repo.writeManyUnderLease(tx, lease, [
      { id: kept, secrets: 'kh1.1.STALE-OK', expiresAt: at(1800), version: 2 },
      { id: takenOver, secrets: 'kh1.1.STALE', expiresAt: at(1800), version: 2 },
    ]));
    expect(written).toEqual([kept]);
    const { rows } = await admin.query('select id, secrets, credential_version, refresh_lease_owner from connections where id = any($1) order by token_expires_at', [[kept, takenOver]]);
    expect(rows.find((r) => r.id === takenOver)).toMatchObject({ secrets: 'kh1.1.NEWER', credential_version: 2 });
    expect(rows.find((r) => r.id === kept)).toMatchObject({ secrets: 'kh1.1.STALE-OK', credential_version: 2, refresh_lease_owner: null });
  });
});
