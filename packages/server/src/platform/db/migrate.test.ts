import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase, silentLogger } from '../../test-support/index.js';
import { MIGRATIONS_DIR, migrate, readMigrations } from './migrate.js';

const log = silentLogger();
const scratch: Array<{ drop(): Promise<void> }> = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-migrations-'));
});
afterAll(async () => {
  await Promise.all(scratch.map((s) => s.drop()));
  await rm(dir, { recursive: true, force: true });
});

async function freshDb() {
  const s = await scratchDatabase();
  scratch.push(s);
  return s.adminUrl;
}

async function query<T extends pg.QueryResultRow>(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

describe('migrations', () => {
  it('apply in order once, record name and checksum, and are a no-op the second time', async () => {
    const url = await freshDb();
    const files = await readMigrations();
    const first = await migrate({ adminUrl: url, log });
    expect(first.applied).toEqual(files.map((f) => f.name));
    const second = await migrate({ adminUrl: url, log });
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    const rows = await query<{ name: string; checksum: string }>(url, 'select name, checksum from keyhold_migrations order by name');
    expect(rows).toEqual(files.map((f) => ({ name: f.name, checksum: f.checksum })));
  });

  it('carry events not yet handed over into the outbox queue (0047), and only those', async () => {
    const url = await freshDb();
    const before = path.join(dir, 'before-0047');
    await cp(MIGRATIONS_DIR, before, { recursive: true, filter: (src) => !/\/(004[7-9]|00[5-9]\d)_[^/]*$/.test(src) });
    await migrate({ adminUrl: url, log, dir: before });
    const [tenant] = await query<{ id: string }>(url, "insert into tenants (slug, name) values ('queue-upgrade', 'Queue upgrade') returning id");
    const event = (n: number, dispatched: boolean) =>
      `insert into events (id, tenant_id, type, subject, payload, created_at, dispatched_at) values ('00000000-0000-7000-8000-00000000000${n}', '${tenant!.id}', 'connection.created', '{}', '{}', now(), ${dispatched ? 'now()' : 'null'})`;
    for (const [n, dispatched] of [[1, true], [2, false], [3, true], [4, false]] as const) await query(url, event(n, dispatched));
    await migrate({ adminUrl: url, log });
    const queued = await query<{ tenant_id: string; id: string }>(url, 'select tenant_id, id from event_queue order by id');
    expect(queued).toEqual([2, 4].map((n) => ({ tenant_id: tenant!.id, id: `00000000-0000-7000-8000-00000000000${n}` })));
  });

  it('create objects owned by the owner role, not by the migrator or the app role', async () => {
    const url = await freshDb();
    await migrate({ adminUrl: url, log });
    const rows = await query<{ owner: string }>(
      url,
      `select distinct pg_get_userbyid(c.relowner) as owner from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'S', 'v') and c.relname <> 'keyhold_migrations'`,
    );
    expect(rows).toEqual([{ owner: 'keyhold_owner' }]);
  });

  it('run concurrently from several nodes without applying anything twice', async () => {
    const url = await freshDb();
    const results = await Promise.all([1, 2, 3].map(() => migrate({ adminUrl: url, log })));
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual((await readMigrations()).map((f) => f.name).sort());
  });

  it('roll back a failing migration completely and leave it pending', async () => {
    const migDir = path.join(dir, 'failing');
    await cp(MIGRATIONS_DIR, migDir, { recursive: true });
    await writeFile(path.join(migDir, '9000_half_done.sql'), 'create table half_done (id int);\nselect * from no_such_table;\n');
    const url = await freshDb();
    await expect(migrate({ adminUrl: url, log, dir: migDir })).rejects.toThrow(/9000_half_done.sql failed and was rolled back: .*no_such_table/);
    const tables = await query(url, `select 1 from pg_class where relname = 'half_done'`);
    expect(tables).toEqual([]);
    const recorded = await query<{ name: string }>(url, `select name from keyhold_migrations where name like '9000%'`);
    expect(recorded).toEqual([]);
  });

  it('refuse to run when an applied migration was edited afterwards', async () => {
    const migDir = path.join(dir, 'edited');
    await cp(MIGRATIONS_DIR, migDir, { recursive: true });
    await writeFile(path.join(migDir, '9001_extra.sql'), 'create table extra_one (id int);\n');
    const url = await freshDb();
    await migrate({ adminUrl: url, log, dir: migDir });
    await writeFile(path.join(migDir, '9001_extra.sql'), 'create table extra_one (id bigint);\n');
    await expect(migrate({ adminUrl: url, log, dir: migDir })).rejects.toThrow(/9001_extra.sql was changed after it was applied/);
  });
});
