import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, uniqueSlug } from '../../test-support/index.js';

/**
 * The sweep's claim writes a lease on every connection it takes, and each use writes `last_used_at`:
 * writes far more frequent than new rows. Neither column is indexed, so with room left on the page
 * (fillfactor, migration 0044) Postgres rewrites the row in place of its page (a HOT update) and
 * writes no index entry — the write costs the same at 1,000 tenants as at 100,000. Without that
 * room, rows packed by inserts move to another page and every one of the table's indexes gets an
 * entry: random index pages to read and dirty, more of them the larger the table.
 */
describe('connection writes on pages filled by inserts', () => {
  let admin: pg.Client;
  let tenantId: string;

  beforeAll(async () => {
    admin = await adminClient();
    tenantId = randomUUID();
    await admin.query(`insert into tenants (id, slug, name, status, max_connections) values ($1, $2, 'Packed', 'active', 1000)`, [tenantId, uniqueSlug('hot')]);
    // 300 connections of realistic size in one statement: consecutive pages, each as full as the table lets it be.
    await admin.query(
      `insert into connections (tenant_id, provider, label, auth_mode, secrets, config, routing_key, token_expires_at, token_origin)
       select $1::uuid, 'xero', 'c' || i, 'oauth2', 'kh1.1.' || $2 || i, jsonb_build_object('xeroTenantId', $3 || '-' || i), $3 || '-' || i, now() + interval '2 hours', 'oauth'
       from generate_series(1, 300) i`,
      [tenantId, randomBytes(240).toString('base64url'), tenantId],
    );
  });
  afterAll(async () => {
    await admin.query('delete from connections where tenant_id = $1', [tenantId]);
    await admin.end();
  });

  /** Rows of `set` updated in one transaction (rolled back), one in eight spread over the pages, and how many were HOT. */
  async function update(set: string): Promise<{ updated: number; hot: number }> {
    await admin.query('begin');
    try {
      const hotBefore = Number((await admin.query(`select pg_stat_get_xact_tuples_hot_updated('connections'::regclass) as n`)).rows[0].n);
      const r = await admin.query(
        `update connections set ${set}
         where id in (select id from (select id, row_number() over (order by ctid) as n from connections where tenant_id = $1) x where n % 8 = 0)`,
        [tenantId],
      );
      const hot = Number((await admin.query(`select pg_stat_get_xact_tuples_hot_updated('connections'::regclass) as n`)).rows[0].n) - hotBefore;
      return { updated: r.rowCount ?? 0, hot };
    } finally {
      await admin.query('rollback');
    }
  }

  it("a refresh claim's lease rewrites no index entry", async () => {
    const r = await update(`refresh_lease_owner = '${randomUUID()}', refresh_lease_until = now() + interval '1 minute'`);
    expect(r.updated).toBeGreaterThan(30);
    expect(r.hot).toBe(r.updated);
  });

  it('noting a use (last_used_at) rewrites no index entry', async () => {
    const r = await update('last_used_at = now()');
    expect(r.updated).toBeGreaterThan(30);
    expect(r.hot).toBe(r.updated);
  });
});
