import { sql } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, appClient, testDb, testServices } from '../../test-support/index.js';
import type { Tenant } from '../../domains/tenants/tenants.service.js';
import { systemActor } from '../context.js';

const db = testDb();
const services = testServices(db);
let a: Tenant;
let b: Tenant;
let app: pg.Client;
let admin: pg.Client;

beforeAll(async () => {
  [a, b] = await Promise.all([services.newTenant('rls-a'), services.newTenant('rls-b')]);
  for (const t of [a, b]) {
    await services.audit.record({ tenantId: t.id, actor: systemActor }, { action: 'test.rls_seed', metadata: { owner: t.slug } });
  }
  app = await appClient();
  admin = await adminClient();
});
afterAll(async () => {
  await Promise.all([app.end(), admin.end(), db.close()]);
});

describe('row-level security', () => {
  it("a tenant's context sees only that tenant's rows", async () => {
    const seen = await db.withTenant(a.id, async (tx) => ({
      tenants: await tx.selectFrom('tenants').select('id').execute(),
      audit: await tx.selectFrom('audit_logs').select(['tenant_id', 'metadata']).execute(),
    }));
    expect(seen.tenants.map((r) => r.id)).toEqual([a.id]);
    expect(seen.audit.length).toBeGreaterThanOrEqual(2); // tenant.create + test.rls_seed
    expect(new Set(seen.audit.map((r) => r.tenant_id))).toEqual(new Set([a.id]));
  });

  it('a query with no tenant set sees nothing', async () => {
    const tenants = await db.kysely.selectFrom('tenants').select('id').execute();
    const audit = await db.kysely.selectFrom('audit_logs').select('id').execute();
    expect(tenants).toEqual([]);
    expect(audit).toEqual([]);
    // After a tenant transaction ends, the same pooled connection carries no tenant.
    await db.withTenant(a.id, async () => undefined);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenants`.execute(db.kysely);
    expect(rows[0]!.n).toBe(0);
  });

  it("writing another tenant's row from a tenant's context is refused", async () => {
    await expect(
      db.withTenant(a.id, (tx) =>
        tx.insertInto('tenants').values({ id: crypto.randomUUID(), slug: `x-${Date.now()}`, name: 'intruder' }).execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const updated = await db.withTenant(a.id, (tx) =>
      tx.updateTable('tenants').set({ name: 'hijacked' }).where('id', '=', b.id).executeTakeFirst(),
    );
    expect(updated.numUpdatedRows).toBe(0n);
    const bName = await db.withTenant(b.id, (tx) => tx.selectFrom('tenants').select('name').executeTakeFirstOrThrow());
    expect(bName.name).toBe('Test tenant');
  });

  it('the app role cannot become the owner, bypass or disable RLS', async () => {
    await expect(app.query('set role keyhold_owner')).rejects.toThrow(/permission denied/);
    await expect(app.query('set role postgres')).rejects.toThrow(/permission denied/);
    await expect(app.query('alter table tenants disable row level security')).rejects.toThrow(/must be owner/);
    await expect(app.query('alter table audit_logs no force row level security')).rejects.toThrow(/must be owner/);
    await expect(app.query('drop policy tenant_isolation on tenants')).rejects.toThrow(/must be owner/);
    await app.query('set row_security = off');
    await expect(app.query('select * from tenants')).rejects.toThrow(/row-level security/);
    await app.query('reset row_security');
  });

  it('the app role cannot update, delete or truncate audit entries', async () => {
    await app.query('begin');
    await app.query(`select set_config('app.tenant_id', $1, true)`, [a.id]);
    await expect(app.query(`update audit_logs set action = 'test.rewritten'`)).rejects.toThrow(/permission denied/);
    await app.query('rollback');
    await expect(app.query('delete from audit_logs')).rejects.toThrow(/permission denied/);
    await expect(app.query('truncate audit_logs')).rejects.toThrow(/permission denied/);
  });

  it('the app role owns nothing and has no elevated attributes', async () => {
    const { rows } = await admin.query<{ owned: number; rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean }>(`
      select (select count(*)::int from pg_class where relowner = r.oid)
           + (select count(*)::int from pg_proc where proowner = r.oid)
           + (select count(*)::int from pg_namespace where nspowner = r.oid) as owned,
             r.rolsuper, r.rolbypassrls, r.rolcreaterole
      from pg_roles r where r.rolname = 'keyhold_app'`);
    expect(rows[0]).toEqual({ owned: 0, rolsuper: false, rolbypassrls: false, rolcreaterole: false });
    await expect(app.query('create table sneaky (id int)')).rejects.toThrow(/permission denied/);
  });

  it('every table with a tenant_id column has RLS enabled, forced and the standard policy', async () => {
    const { rows } = await admin.query<{ table: string; enabled: boolean; forced: boolean; policy: boolean }>(`
      select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
             exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_isolation') as policy
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r'
        and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
             or c.relname = 'tenants')`);
    expect(rows.map((r) => r.table)).toEqual(expect.arrayContaining(['tenants', 'audit_logs', 'audit_chain_heads']));
    for (const r of rows) expect({ ...r }).toEqual({ table: r.table, enabled: true, forced: true, policy: true });
  });

  it('cross-tenant lookups return ids only, through SECURITY DEFINER functions', async () => {
    expect(await services.tenants.idBySlug(b.slug.toUpperCase())).toBe(b.id);
    expect(await services.tenants.idBySlug('no-such-tenant')).toBeUndefined();
    const { rows } = await app.query<{ id: string }>('select keyhold_tenant_ids() as id');
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    await expect(app.query(`select keyhold_enable_tenant_rls('tenants')`)).rejects.toThrow(/permission denied/);
  });
});
