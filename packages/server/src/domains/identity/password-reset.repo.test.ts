import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup } from '../../test-support/accounts.js';
import { type TestApp, testApp } from '../../test-support/index.js';
import { recordingSql, withoutTenant } from '../../test-support/sql-record.js';
import { createPasswordResetRepo } from './password-reset.repo.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t?.close());

describe('password reset repo', () => {
  it('every statement on password_reset_tokens in a tenant names tenant_id (RLS is the second guard, not the only one)', async () => {
    const owner = await signup(t.app);
    const repo = createPasswordResetRepo(t.db.kysely);
    const now = new Date();
    const statements = await t.db.withTenant(owner.tenantId, async (raw) => {
      const { tx, statements } = recordingSql(raw);
      await repo.insert(tx, { tenant_id: owner.tenantId, user_id: owner.userId, token_hash: `h-${now.getTime()}`, created_at: now, expires_at: new Date(now.getTime() + 60_000) });
      expect(await repo.byHash(tx, owner.tenantId, `h-${now.getTime()}`)).toBeDefined();
      await repo.useAll(tx, owner.tenantId, owner.userId, now);
      return statements;
    });
    expect(statements).toHaveLength(3);
    expect(withoutTenant(statements, ['password_reset_tokens'])).toEqual([]);
  });
});
