import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { type TestApp, useTestApp } from '../../test-support/index.js';
import { signup } from '../../test-support/accounts.js';
import { loadParser, missingTenantPredicates, tenantTables } from '../../test-support/tenant-predicates.js';
import { TENANT_TABLES } from './tenant-predicate-plugin.js';
import type { TenantTx } from './tenancy.js';

/** Statements built in a tenant's transaction carry `tenant_id = <tenant>` for each tenant table they touch. */
let t: TestApp;
useTestApp((x) => (t = x));

const compiled = (tenantId: string, build: (tx: TenantTx) => { compile(): { sql: string; parameters: readonly unknown[] } }) =>
  t.db.withTenant(tenantId, async (tx) => build(tx).compile());

describe('tenant predicates in every built statement', () => {
  it('the list of tenant tables is the database\'s: forced RLS and a tenant_id column', async () => {
    expect([...TENANT_TABLES].sort()).toEqual([...(await tenantTables(inject('adminUrl')))].sort());
  });

  it('SELECT, UPDATE and DELETE over tenant tables name the tenant, joined tables in their ON; other tables are left alone', async () => {
    await loadParser();
    const a = await signup(t.app);
    const id = randomUUID();
    const cases = [
      (tx: TenantTx) => tx.selectFrom('connections').selectAll().where('id', '=', id),
      // An OR in the query's own WHERE keeps the tenant's predicate outside it.
      (tx: TenantTx) => tx.selectFrom('connections').selectAll().where((eb) => eb.or([eb('id', '=', id), eb('label', '=', 'x')])),
      (tx: TenantTx) => tx.selectFrom('connections as c').innerJoin('connection_events as e', 'e.connection_id', 'c.id').select('e.id').where('c.id', '=', id),
      (tx: TenantTx) => tx.selectFrom('connections as c').leftJoin('sync_schedules as s', 's.connection_id', 'c.id').select('c.id'),
      (tx: TenantTx) => tx.selectFrom('events').select('id').where('id', 'in', (eb) => eb.selectFrom('inbound_events').select('id')),
      (tx: TenantTx) => tx.updateTable('connections').set({ last_used_at: new Date() }).where('id', '=', id),
      (tx: TenantTx) => tx.deleteFrom('oauth_states').where('id', '=', id),
    ];
    for (const build of cases) {
      const q = await compiled(a.tenantId, build);
      expect(missingTenantPredicates(q.sql, TENANT_TABLES), q.sql).toEqual([]);
      expect(q.parameters).toContain(a.tenantId);
    }
    const left = await compiled(a.tenantId, cases[3]!);
    // The outer join's table is constrained in its ON, not in WHERE (which would drop connections without a schedule).
    expect(left.sql).toMatch(/left join "sync_schedules" as "s" on "s"\."connection_id" = "c"\."id" and "s"\."tenant_id" = \$1 where "c"\."tenant_id" = \$2/);
    const tenants = await compiled(a.tenantId, (tx) => tx.selectFrom('tenants').select('id'));
    expect(tenants.parameters).toEqual([]);
  });

  it('the rows read are the same as with RLS alone (an outer join keeps its unmatched rows)', async () => {
    const a = await signup(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: { authorization: `Bearer ${a.accessToken}` }, payload: { serviceName: 'stripe', apiKey: `sk_test_${randomUUID().replace(/-/g, '')}` } });
    expect(res.statusCode, res.body).toBe(201);
    const rows = await t.db.withTenant(a.tenantId, (tx) =>
      tx.selectFrom('connections as c').leftJoin('sync_schedules as s', 's.connection_id', 'c.id').select(['c.id', 's.sync']).where('c.tenant_id', '=', a.tenantId).execute());
    expect(rows).toEqual([{ id: res.json().data.id, sync: null }]);
  });
});
