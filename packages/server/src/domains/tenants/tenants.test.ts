import { afterAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { systemActor } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import { testDb, testServices, uniqueSlug } from '../../test-support/index.js';

const db = testDb();
const services = testServices(db);
afterAll(() => db.close());

describe('tenants', () => {
  it('creates a trial tenant ending in 14 days, audited in its own chain', async () => {
    const slug = uniqueSlug('acme');
    const t = await services.tenants.create({ actor: { type: 'platform_admin', id: 'pa-7' }, requestId: 'req_abcdefgh' }, { slug, name: '  Acme Ltd ' });
    expect(t).toMatchObject({ slug, name: 'Acme Ltd', plan: 'starter', status: 'trial', maxUsers: 5, maxConnections: 10, features: {} });
    const days = (Date.parse(t.trialEndsAt!) - Date.parse(t.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(14, 5);
    const entries = await db.withTenant(t.id, (tx) => tx.selectFrom('audit_logs').selectAll().execute());
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'tenant.create', actor_type: 'platform_admin', actor_id: 'pa-7', entity_id: t.id, request_id: 'req_abcdefgh' });
    expect(await services.tenants.get(t.id)).toEqual(t);
  });

  it('refuses a duplicate slug with CONFLICT and writes nothing', async () => {
    const slug = uniqueSlug('dup');
    await services.tenants.create({ actor: systemActor }, { slug, name: 'First' });
    const err = await services.tenants.create({ actor: systemActor }, { slug: slug.toUpperCase(), name: 'Second' }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'CONFLICT', httpStatus: 409 });
    expect(err.message).toContain(slug);
  });

  it('rejects an invalid slug before touching the database', async () => {
    await expect(services.tenants.create({ actor: systemActor }, { slug: '-bad slug-', name: 'x' })).rejects.toBeInstanceOf(ZodError);
  });

  it("answers NOT_FOUND for a tenant id that does not exist", async () => {
    await expect(services.tenants.get(crypto.randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
