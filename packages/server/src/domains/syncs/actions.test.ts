import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';

/** The action runner's rules, with the QuickBooks exchange-rate write as the action (sandbox companies). */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
}, 60_000);
afterAll(() => h.close());

async function company(acct: Account) {
  const account = `act-${randomBytes(5).toString('hex')}`;
  const realm = h.sandbox.oauth.accountIds('quickbooks', account).realmId!;
  const res = await h.connect(acct, 'quickbooks', { label: 'books', consent: { sandbox_account: account } });
  if (res.statusCode !== 302) throw new Error(res.body);
  const id = await h.t.db.withTenant(acct.tenantId, async (tx) => (await tx.selectFrom('connections').select('id').where('provider', '=', 'quickbooks').executeTakeFirstOrThrow()).id);
  return { id, realm };
}
const write = (acct: Account, connectionId: string, idempotencyKey: string, rate = 1.1) =>
  h.t.services.actions.perform({ tenantId: acct.tenantId, connectionId, action: 'exchangerate', input: { currency: 'EUR', date: '2026-11-25', rate }, idempotencyKey });
const insertRunning = (acct: Account, connectionId: string, key: string, leaseUntil: Date) =>
  h.t.db.withTenant(acct.tenantId, (tx) => tx.insertInto('sync_runs').values({
    id: uuidv7(), tenant_id: acct.tenantId, connection_id: connectionId, sync: 'exchangerate', kind: 'action', idempotency_key: key,
    trigger: 'manual', mode: 'full', started_at: new Date(), lease_until: leaseUntil,
  }).execute());

describe('actions', () => {
  it('a write whose process died (its lease ran out) is closed and its key may be written again; a live one answers ACTION_IN_PROGRESS', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct);
    await insertRunning(acct, c.id, 'k-live', new Date(h.t.clock().getTime() + 60_000));
    await expect(write(acct, c.id, 'k-live')).rejects.toMatchObject({ code: 'ACTION_IN_PROGRESS' });
    await expect(write(acct, c.id, 'k-other')).rejects.toMatchObject({ code: 'ACTION_IN_PROGRESS' }); // one action of a name at a time per connection
    expect(h.sandbox.quickbooksCompanies.writes(c.realm)).toBe(0);
    h.t.clock.advance(120_000);
    expect(await write(acct, c.id, 'k-live')).toMatchObject({ status: 'succeeded', replayed: false, providerCalls: 2 });
    const rows = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').select(['idempotency_key', 'status']).where('connection_id', '=', c.id).execute());
    expect(rows).toEqual([{ idempotency_key: 'k-live', status: 'succeeded' }]);
    expect(h.sandbox.quickbooksCompanies.writes(c.realm)).toBe(1);
  });

  it("tenant isolation: another tenant's connection answers NOT_FOUND and its keys are its own", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    const c = await company(a);
    await expect(write(b, c.id, 'k1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await write(a, c.id, 'k1')).toMatchObject({ status: 'succeeded', replayed: false });
    const mine = await company(b);
    // The same key in another tenant (another connection) is another write.
    expect(await write(b, mine.id, 'k1')).toMatchObject({ status: 'succeeded', replayed: false });
    expect(await h.t.db.withTenant(b.tenantId, (tx) => tx.selectFrom('sync_runs').select('connection_id').execute())).toEqual([{ connection_id: mine.id }]);
  });

  it('a provider failure is a code, never its message: the run records it, the outcome carries it', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct);
    h.sandbox.quickbooksCompanies.fail(c.realm, 503);
    try {
      const out = await write(acct, c.id, 'k-down');
      expect(out).toMatchObject({ status: 'failed', errorCode: 'quickbooks_10000', result: null, providerCalls: 1 });
      expect(JSON.stringify(out)).not.toMatch(/application error|System Failure/);
    } finally {
      h.sandbox.quickbooksCompanies.heal(c.realm);
    }
    const [run] = await h.t.db.withTenant(acct.tenantId, (tx) => tx.selectFrom('sync_runs').selectAll().where('connection_id', '=', c.id).execute());
    expect(run).toMatchObject({ kind: 'action', status: 'failed', error_code: 'quickbooks_10000', result: null });
    expect(await write(acct, c.id, 'k-down')).toMatchObject({ status: 'succeeded', replayed: false });
  });
});
