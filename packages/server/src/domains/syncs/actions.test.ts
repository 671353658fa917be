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

  it('a key reused with another input is refused (409 IDEMPOTENCY_KEY_REUSED) before any provider call, also after a failure', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct);
    const sent = () => h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.path.startsWith(`/v3/company/${c.realm}/`)).length;
    expect(await write(acct, c.id, 'k-reuse', 1.1)).toMatchObject({ status: 'succeeded', replayed: false });
    const before = sent();
    await expect(write(acct, c.id, 'k-reuse', 1.2)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', httpStatus: 409 });
    expect(sent()).toBe(before);
    expect(await write(acct, c.id, 'k-reuse', 1.1)).toMatchObject({ status: 'succeeded', replayed: true });
    // A failed key retried with another input is refused too (it would otherwise resend under the old key).
    h.sandbox.quickbooksCompanies.fail(c.realm, 503);
    try {
      expect(await write(acct, c.id, 'k-fail', 1.1)).toMatchObject({ status: 'failed' });
    } finally {
      h.sandbox.quickbooksCompanies.heal(c.realm);
    }
    const afterFail = sent();
    await expect(write(acct, c.id, 'k-fail', 1.3)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(sent()).toBe(afterFail);
    expect(await write(acct, c.id, 'k-fail', 1.1)).toMatchObject({ status: 'succeeded', replayed: false });
    expect(h.sandbox.quickbooksCompanies.writes(c.realm)).toBe(2);
  });

  const requestIds = (realm: string) => h.sandbox.requests().filter((r) => r.provider === 'quickbooks' && r.method === 'POST' && r.path === `/v3/company/${realm}/exchangerate`)
    .map((r) => new URLSearchParams(r.query).get('requestid'));

  it('a write whose answer was lost is resent under the same requestid, and QuickBooks (replaying it) writes once', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct);
    h.sandbox.quickbooksCompanies.loseAnswers(c.realm, 1);
    expect(await write(acct, c.id, 'k-lost')).toMatchObject({ status: 'failed', errorCode: 'http_502' });
    expect(await write(acct, c.id, 'k-lost')).toMatchObject({ status: 'succeeded', replayed: false, result: { syncToken: '1' } });
    const ids = requestIds(c.realm);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(h.sandbox.quickbooksCompanies.writes(c.realm)).toBe(1);
  });

  it('a key retried after a definite refusal (a Fault) is sent under a new requestid, so it can succeed', async () => {
    const acct = await signup(h.t.app);
    const c = await company(acct);
    h.sandbox.quickbooksCompanies.overtake(c.realm, 2); // both tries of the first run meet a stale SyncToken (5010)
    expect(await write(acct, c.id, 'k-stale')).toMatchObject({ status: 'failed', errorCode: 'quickbooks_5010' });
    expect(await write(acct, c.id, 'k-stale')).toMatchObject({ status: 'succeeded', replayed: false });
    const ids = requestIds(c.realm);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(h.sandbox.quickbooksCompanies.writes(c.realm)).toBe(1);
  });
});
