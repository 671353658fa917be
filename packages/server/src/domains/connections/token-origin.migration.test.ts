import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate } from '../../platform/db/migrate.js';
import { scratchDatabase, silentLogger } from '../../test-support/index.js';

/**
 * Migration 0020 marks where existing connections' secrets came from, from their events: only
 * connections the OAuth flow wrote last become candidates for a grant upgrade.
 */
const MIGRATION = '0020_token_origin.sql';
let cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

it('0020 marks OAuth connects (old events without a source included) as oauth, pasted or rotated-by-hand ones (old rotations without a source included) as tenant, and event-less ones as unknown', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-0020-'));
  const scratch = await scratchDatabase();
  cleanup.push(() => rm(dir, { recursive: true, force: true }), scratch.drop);
  for (const f of (await readdir(MIGRATIONS_DIR)).filter((n) => n.endsWith('.sql') && n < MIGRATION)) await copyFile(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  await migrate({ adminUrl: scratch.adminUrl, log: silentLogger(), dir });

  const c = new pg.Client({ connectionString: scratch.adminUrl });
  await c.connect();
  try {
    const tenant = (await c.query<{ id: string }>("insert into tenants (slug, name) values ('t0020', 'T') returning id")).rows[0]!.id;
    const conn = async (label: string, events: Array<[string, Record<string, unknown>]>) => {
      const id = (await c.query<{ id: string }>("insert into connections (tenant_id, provider, label, auth_mode, secrets) values ($1, 'shopify', $2, 'oauth2', 'kh1.x') returning id", [tenant, label])).rows[0]!.id;
      for (const [type, detail] of events) await c.query('insert into connection_events (tenant_id, connection_id, type, detail) values ($1, $2, $3, $4)', [tenant, id, type, JSON.stringify(detail)]);
      return id;
    };
    const ids = {
      oldOauth: await conn('old-oauth', [['connected', { account: 'acme' }]]),
      oauth: await conn('oauth', [['connected', { source: 'oauth' }], ['refresh_failed', { source: 'refresh' }]]),
      pasted: await conn('pasted', [['connected', { source: 'credentials' }]]),
      pastedOver: await conn('pasted-over', [['connected', { source: 'oauth' }], ['rotated', { source: 'credentials' }]]),
      reconnected: await conn('reconnected', [['connected', { source: 'credentials' }], ['reconnected', { source: 'oauth' }], ['updated', { source: 'credentials' }]]),
      rotatedBefore0016: await conn('rotated-before-0016', [['connected', { account: 'acme' }], ['rotated', { fields: ['accessToken'] }]]),
      noEvents: await conn('no-events', []),
    };

    await copyFile(path.join(MIGRATIONS_DIR, MIGRATION), path.join(dir, MIGRATION));
    expect((await migrate({ adminUrl: scratch.adminUrl, log: silentLogger(), dir })).applied).toEqual([MIGRATION]);
    const origin = new Map((await c.query<{ id: string; token_origin: string | null }>('select id, token_origin from connections')).rows.map((r) => [r.id, r.token_origin]));
    expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, origin.get(id)]))).toEqual({
      oldOauth: 'oauth', oauth: 'oauth', pasted: 'tenant', pastedOver: 'tenant', reconnected: 'oauth', rotatedBefore0016: 'tenant', noEvents: null,
    });
  } finally {
    await c.end();
  }
});
