import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { createDb } from '../../platform/db/database.js';
import type { ScopedTx } from '../../platform/db/tenancy.js';
import { silentLogger, testApp } from '../../test-support/index.js';
import { STRONG_PASSWORD, bearer, freshIp, signup } from '../../test-support/accounts.js';

/** The app on a pool of two connections: work that needs a second connection mid-transaction starves. */
let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp({ db: createDb({ url: inject('appUrl'), poolMax: 2, log: silentLogger() }) });
});
afterAll(() => t.close());

type Holder = { id: string; tenantId: string | null; accessToken: string; refreshToken: string };

const kinds = [
  {
    kind: 'tenant user',
    base: '/api/auth',
    actorType: 'user',
    audit: { action: 'auth.refresh_token_reuse', entity: 'session' },
    async signIn(): Promise<Holder> {
      const a = await signup(t.app);
      return { id: a.userId, tenantId: a.tenantId, accessToken: a.accessToken, refreshToken: a.refreshToken };
    },
  },
  {
    kind: 'platform admin',
    base: '/api/admin/auth',
    actorType: 'platform_admin',
    audit: { action: 'platform_admin.refresh_token_reuse', entity: 'platform_session' },
    async signIn(): Promise<Holder> {
      const email = `ops-${Math.random().toString(36).slice(2, 10)}@keyhold.example`;
      const password = STRONG_PASSWORD();
      const admin = await t.services.adminAuth.create({ tenantId: null, actor: systemActor }, { email, role: 'ADMIN', password });
      const res = await t.app.inject({ method: 'POST', url: '/api/admin/auth/login', payload: { email, password }, remoteAddress: freshIp() });
      expect(res.statusCode, res.body).toBe(200);
      return { id: admin.id, tenantId: null, ...(res.json().data as { accessToken: string; refreshToken: string }) };
    },
  },
] as const;

describe.each(kinds)('sessions of a $kind (one module, two kinds)', ({ base, signIn, actorType, audit }) => {
  const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: `${base}/refresh`, payload: { refreshToken } });
  const inScope = <T>(tenantId: string | null, fn: (tx: ScopedTx) => Promise<T>) => (tenantId ? t.db.withTenant(tenantId, fn) : t.db.withPlatform(fn));

  it('parallel refreshes finish on a small pool: the holder is read inside the refresh transaction', async () => {
    const holders = await Promise.all(Array.from({ length: 6 }, signIn));
    const all = Promise.all(holders.map((h) => refresh(h.refreshToken)));
    const stuck = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 5_000).unref());
    const outcome = await Promise.race([all, stuck]);
    expect(outcome).not.toBe('stuck');
    expect((outcome as Awaited<typeof all>).map((r) => r.statusCode)).toEqual(holders.map(() => 200));
  });

  it('reuse of a rotated refresh token ends the whole sign-in, audited with its holder as actor', async () => {
    const h = await signIn();
    const next = (await refresh(h.refreshToken)).json().data;
    const replay = await refresh(h.refreshToken);
    expect([replay.statusCode, replay.json().code]).toEqual([401, 'TOKEN_INVALID']);
    expect(replay.json().error).toContain('already used');
    expect((await refresh(next.refreshToken)).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: `${base}/me`, headers: bearer(next.accessToken) })).statusCode).toBe(401);
    const entries = await inScope(h.tenantId, (tx) =>
      tx.selectFrom('audit_logs').select(['actor_type', 'actor_id', 'entity_type']).where('action', '=', audit.action).where('actor_id', '=', h.id).execute());
    expect(entries).toEqual([{ actor_type: actorType, actor_id: h.id, entity_type: audit.entity }]);
  });

  it('logout ends the session: its access and refresh tokens stop working', async () => {
    const h = await signIn();
    expect((await t.app.inject({ method: 'POST', url: `${base}/logout`, headers: bearer(h.accessToken) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `${base}/me`, headers: bearer(h.accessToken) })).statusCode).toBe(401);
    expect((await refresh(h.refreshToken)).statusCode).toBe(401);
  });

  it("a refresh token of the other kind is refused at this door", async () => {
    const other = kinds.find((k) => k.base !== base)!;
    const foreign = await other.signIn();
    expect((await refresh(foreign.refreshToken)).json().code).toBe('TOKEN_INVALID');
    expect((await t.app.inject({ method: 'GET', url: `${base}/me`, headers: bearer(foreign.accessToken) })).statusCode).toBe(401);
  });
});
