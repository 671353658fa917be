import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { adminClient, testDb, testServices } from '../../test-support/index.js';
import { canonicalJson, chainedEntryFromRow, entryHash } from './canonical.js';

const db = testDb();
const services = testServices(db);
let admin: pg.Client;

beforeAll(async () => {
  admin = await adminClient();
});
afterAll(async () => {
  await Promise.all([admin.end(), db.close()]);
});

/** A tenant with `n` entries after its `tenant.create` entry; returns the tenant and entry ids by seq. */
async function tenantWithEntries(n: number) {
  const tenant = await services.newTenant('audit');
  const ctx = { tenantId: tenant.id, actor: { type: 'user' as const, id: 'u-1' }, requestId: 'req_test_1', ip: '127.0.0.1' };
  for (let i = 0; i < n; i++) {
    await services.audit.record(ctx, { action: 'api_credentials.reveal', entity: { type: 'connection', id: `c-${i}` }, metadata: { i } });
  }
  const { rows } = await admin.query<{ id: string; seq: string }>('select id, seq from audit_logs where tenant_id = $1 order by seq', [tenant.id]);
  return { tenant, ids: rows.map((r) => r.id) };
}

describe('audit chain', () => {
  it('records entries as an intact chain that verify accepts', async () => {
    const { tenant, ids } = await tenantWithEntries(3);
    expect(ids).toHaveLength(4);
    const [report] = await services.audit.verify({ tenantId: tenant.id });
    expect(report).toEqual({ tenantId: tenant.id, entries: 4, ok: true });
  });

  it('keeps one linear chain under concurrent appends', async () => {
    const tenant = await services.newTenant('audit-conc');
    const ctx = { tenantId: tenant.id, actor: systemActor };
    await Promise.all(Array.from({ length: 25 }, (_, i) => services.audit.record(ctx, { action: 'test.concurrent', metadata: { i } })));
    const { rows } = await admin.query<{ seq: string }>('select seq from audit_logs where tenant_id = $1 order by seq', [tenant.id]);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    expect((await services.audit.verify({ tenantId: tenant.id }))[0]!.ok).toBe(true);
  });

  it('never stores a secret-named metadata field', async () => {
    const tenant = await services.newTenant('audit-secret');
    const canary = `canary-${crypto.randomUUID()}`;
    await services.audit.record(
      { tenantId: tenant.id, actor: systemActor },
      { action: 'api_credentials.create', metadata: { serviceName: 'stripe', apiKey: canary, nested: { refresh_token: canary, password: canary } } },
    );
    const { rows } = await admin.query<{ dump: string }>('select metadata::text as dump from audit_logs where tenant_id = $1', [tenant.id]);
    const dump = rows.map((r) => r.dump).join('\n');
    expect(dump).not.toContain(canary);
    expect(dump).toContain('stripe');
    expect(dump).toContain('[REDACTED]');
  });

  it('rejects an action name that is not <entity>.<verb>', async () => {
    const tenant = await services.newTenant('audit-bad');
    await expect(services.audit.record({ tenantId: tenant.id, actor: systemActor }, { action: 'Reveal Key' })).rejects.toThrow(/entity>.<verb/);
  });

  it('keeps platform events out of every tenant context', async () => {
    const marker = crypto.randomUUID();
    await services.audit.record({ tenantId: null, actor: { type: 'platform_admin', id: 'pa-1' } }, { action: 'platform.test', metadata: { marker } });
    const tenant = await services.newTenant('audit-scope');
    const inTenant = await db.withTenant(tenant.id, (tx) => tx.selectFrom('audit_logs').select('action').execute());
    expect(inTenant.map((r) => r.action)).toEqual(['tenant.create']);
    const inPlatform = await db.withPlatform((tx) => tx.selectFrom('audit_logs').select(['tenant_id', 'metadata']).execute());
    expect(inPlatform.some((r) => r.metadata.marker === marker)).toBe(true);
    expect(inPlatform.every((r) => r.tenant_id === null)).toBe(true);
  });
});

describe('audit verify detects tampering by the owner role', () => {
  it('an altered entry, naming it', async () => {
    const { tenant, ids } = await tenantWithEntries(3);
    await admin.query(`update audit_logs set metadata = '{"i": 99}' where id = $1`, [ids[2]]);
    const [report] = await services.audit.verify({ tenantId: tenant.id });
    expect(report!.ok).toBe(false);
    expect(report!.firstBroken).toMatchObject({ seq: 3, id: ids[2], reason: 'hash_mismatch' });
    expect(report!.firstBroken!.detail).toContain(ids[2]);
  });

  it('an altered entry whose own hash was recomputed, naming it', async () => {
    const { tenant, ids } = await tenantWithEntries(3);
    const { rows } = await admin.query('select * from audit_logs where id = $1', [ids[1]]);
    const forged = { ...chainedEntryFromRow(rows[0]), actorId: 'someone-else' };
    await admin.query('update audit_logs set actor_id = $2, hash = $3 where id = $1', [ids[1], forged.actorId, entryHash(rows[0].prev_hash, forged)]);
    const [report] = await services.audit.verify({ tenantId: tenant.id });
    expect(report!.firstBroken).toMatchObject({ seq: 2, id: ids[1], reason: 'prev_hash_mismatch' });
    expect(report!.firstBroken!.detail).toContain(ids[1]);
  });

  it('a deleted entry in the middle, naming the gap', async () => {
    const { tenant, ids } = await tenantWithEntries(4);
    await admin.query('delete from audit_logs where id = $1', [ids[2]]);
    const [report] = await services.audit.verify({ tenantId: tenant.id });
    expect(report!.firstBroken).toMatchObject({ seq: 3, id: ids[3], reason: 'missing_entries' });
  });

  it('a deleted last entry', async () => {
    const { tenant, ids } = await tenantWithEntries(2);
    await admin.query('delete from audit_logs where id = $1', [ids.at(-1)]);
    const [report] = await services.audit.verify({ tenantId: tenant.id });
    expect(report!.firstBroken).toMatchObject({ seq: 3, reason: 'head_mismatch' });
  });

  it('verifying all chains reports the broken one among intact ones', async () => {
    const intact = await tenantWithEntries(1);
    const broken = await tenantWithEntries(1);
    await admin.query(`update audit_logs set created_at = created_at + interval '1 second' where id = $1`, [broken.ids[0]]);
    const reports = await services.audit.verify();
    expect(reports.find((r) => r.tenantId === intact.tenant.id)?.ok).toBe(true);
    expect(reports.find((r) => r.tenantId === broken.tenant.id)?.firstBroken).toMatchObject({ seq: 1, id: broken.ids[0] });
    expect(reports.find((r) => r.tenantId === null)).toBeDefined();
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
