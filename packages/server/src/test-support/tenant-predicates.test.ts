import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadParser, missingTenantPredicates, tenantTables } from './tenant-predicates.js';

/** The checker the suite runs over every statement it issued (global-setup.ts): what it accepts and what it reports. */
const tables = new Set(['events', 'connections', 'inbound_events']);
beforeAll(() => loadParser());
const missing = (sql: string) => missingTenantPredicates(sql, tables);

describe('tenant_id predicates', () => {
  it('the tenant tables are read from the database: forced RLS and a tenant_id column', async () => {
    const found = await tenantTables(inject('adminUrl'));
    expect(found.has('connections')).toBe(true);
    expect(found.has('events')).toBe(true);
    expect(found.has('tenants')).toBe(false);
  });

  it('accepts statements that name tenant_id for every tenant table they touch', () => {
    expect(missing('select * from events where tenant_id = $1 and id > $2 order by id limit 10')).toEqual([]);
    expect(missing('select e.id from events e join connections c on c.tenant_id = e.tenant_id and c.id = e.id where e.tenant_id = $1')).toEqual([]);
    expect(missing('select * from events e join connections c using (tenant_id, id) where e.tenant_id = $1')).toEqual([]);
    expect(missing('update connections set status = $1 where tenant_id = $2 and id = $3')).toEqual([]);
    expect(missing('delete from inbound_events where "tenant_id" = $1 and received_at < $2')).toEqual([]);
    expect(missing('insert into events (id, tenant_id, type) values ($1, $2, $3)')).toEqual([]);
    expect(missing('select count(*) from tenants where id = $1')).toEqual([]);
    expect(missing('select keyhold_store_inbound_events($1, $2)')).toEqual([]);
    expect(missing('select * from events where tenant_id = any($1::uuid[]) and id = $2')).toEqual([]);
    expect(missing("select * from events where tenant_id in ($1, '7c2f9a44-0000-4000-8000-000000000000') and (id = $2 or type = $3)")).toEqual([]);
    expect(missing('select * from events e join connections c on c.tenant_id = e.tenant_id where e.tenant_id = $1::uuid')).toEqual([]);
    // A lateral subquery correlated on the tenant with the pinned outer table; the platform's own rows.
    expect(missing('select * from connections c left join lateral (select id from events e where e.tenant_id = c.tenant_id limit 1) l on true where c.tenant_id = $1')).toEqual([]);
    expect(missing('select * from events where tenant_id is null and id = $1')).toEqual([]);
  });

  it('reports each tenant table a statement reaches without its tenant_id', () => {
    expect(missing('select * from events where id = $1')).toEqual(['events']);
    expect(missing('update connections set status = $1 where id = $2')).toEqual(['connections']);
    expect(missing('delete from inbound_events where id = any($1)')).toEqual(['inbound_events']);
    expect(missing('insert into events (id, type) values ($1, $2)')).toEqual(['events']);
    // One table named, the joined one not.
    expect(missing('select * from events e join connections c on c.id = e.id where e.tenant_id = $1')).toEqual(['connections']);
    // A predicate inside a subquery constrains the subquery only.
    expect(missing('select * from events where id in (select id from connections where tenant_id = $1)')).toEqual(['events']);
    expect(missing('with x as (select id from events) select * from connections where tenant_id = $1')).toEqual(['events']);
    // Named but not constraining: under an OR, against nothing, a join on the tenant with no table pinned.
    expect(missing('select * from events where id = $1 or tenant_id = $2')).toEqual(['events']);
    expect(missing('select * from events where tenant_id is not null and id = $1')).toEqual(['events']);
    expect(missing('select * from events e join connections c on c.id = e.id and c.tenant_id = e.tenant_id')).toEqual(['connections', 'events']);
    expect(missing('select * from events e join connections c using (tenant_id)')).toEqual(['connections', 'events']);
    expect(missing('select * from events where tenant_id = current_setting($1)::uuid')).toEqual(['events']);
    expect(missing('this is not sql')).toEqual(['(not parsed)']);
  });
});
