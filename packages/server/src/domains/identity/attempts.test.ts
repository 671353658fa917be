import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { movableClock, type TestApp, useTestApp } from '../../test-support/index.js';
import { bearer, freshIp, signup, totpAt } from '../../test-support/accounts.js';
import { type AttemptKey, createAttemptLimiter } from './attempts.js';
import { createAttemptsRepo } from './attempts.repo.js';

let t: TestApp;
let app: FastifyInstance;
useTestApp((started) => ((t = started), (app = started.app)));

const WINDOW = 15 * 60_000;
/** A limiter on its own clock, with keys no other test uses. */
function limiter() {
  const clock = movableClock();
  return { clock, attempts: createAttemptLimiter({ repo: createAttemptsRepo(t.db.kysely), clock }) };
}
const key = (name: string, limit: number): AttemptKey => ({ key: `test:${name}:${randomUUID()}`, limit });
const refused = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'RATE_LIMITED', httpStatus: 429 });

describe('attempt limiter', () => {
  it('a wrong guess stays counted; the one over the limit is refused with Retry-After until the window ends', async () => {
    const { clock, attempts } = limiter();
    const account = key('account', 3);
    for (let i = 0; i < 3; i++) await attempts.reserve([account]);
    clock.advance(60_000);
    const err = await attempts.reserve([account]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', headers: { 'retry-after': String(14 * 60) } });
    clock.advance(14 * 60_000 + 1);
    await attempts.reserve([account]);
  });

  it('successes on one account do not buy an address more failures on others', async () => {
    const { attempts } = limiter();
    const ip = key('ip', 3);
    const own = key('own-account', 10);
    await attempts.reserve([key('a', 10), ip]);
    await attempts.reserve([key('b', 10), ip]);
    for (let i = 0; i < 20; i++) await (await attempts.reserve([own, ip])).release({ reset: [own] });
    await attempts.reserve([key('c', 10), ip]);
    await refused(attempts.reserve([key('d', 10), ip]));
  });

  it('a refused attempt uses up none of its other keys', async () => {
    const { attempts } = limiter();
    const ip = key('ip', 5);
    const locked = key('locked-account', 2);
    await attempts.reserve([locked, ip]);
    await attempts.reserve([locked, ip]);
    for (let i = 0; i < 20; i++) await refused(attempts.reserve([locked, ip]));
    for (let i = 0; i < 3; i++) await attempts.reserve([key('other', 10), ip]);
    await refused(attempts.reserve([key('other', 10), ip]));
  });

  it('an attempt that ended in an error (no verdict) does not count', async () => {
    const { attempts } = limiter();
    const user = key('mfa', 2);
    for (let i = 0; i < 5; i++) {
      const attempt = await attempts.reserve([user]);
      await expect(Promise.reject(new Error('enrol first')).catch(attempt.releaseAndThrow)).rejects.toThrow('enrol first');
    }
    await attempts.reserve([user]);
    await attempts.reserve([user]);
    await refused(attempts.reserve([user]));
  });

  it('a release after the window ended does not take an attempt from the next window', async () => {
    const { clock, attempts } = limiter();
    const user = key('mfa', 2);
    const old = await attempts.reserve([user]);
    clock.advance(WINDOW + 1);
    await attempts.reserve([user]);
    await attempts.reserve([user]);
    await old.release();
    await refused(attempts.reserve([user]));
  });

  it('parallel attempts sharing an address, with releases and pruning in between, neither deadlock nor overshoot', async () => {
    const { attempts } = limiter();
    const ip = key('ip', 100);
    const accounts = Array.from({ length: 10 }, (_, i) => key(`account-${i}`, 10));
    const outcomes = await Promise.all(Array.from({ length: 400 }, async (_, i) => {
      // Neighbours name the same two keys in opposite orders.
      const account = accounts[Math.floor(i / 2) % 10]!;
      const attempt = await attempts.reserve(i % 2 ? [account, ip] : [ip, account]).catch((e: { code?: string; message: string }) => e.code ?? e.message);
      if (typeof attempt === 'string') return attempt;
      if (i % 3 === 0) await attempt.release({ reset: i % 6 === 0 ? [account] : [] });
      if (i % 50 === 0) await attempts.prune();
      return i % 3 === 0 ? 'released' : 'failed';
    }));
    expect(outcomes.every((o) => ['released', 'failed', 'RATE_LIMITED'].includes(o))).toBe(true);
    // Each account allows 10 failures, so at most 100 failures are ever counted.
    expect(outcomes.filter((o) => o === 'failed').length).toBeLessThanOrEqual(100);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED').length).toBeGreaterThan(0);
  });
});

describe('what does not count as a failure', () => {
  it('a right password after failures resets the account: ten more failures are answered 401', async () => {
    const acct = await signup(app);
    const login = (password: string) => app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: acct.slug, email: acct.email, password }, remoteAddress: freshIp() });
    expect((await login('wrong-password-1')).statusCode).toBe(401);
    expect((await login(acct.password)).statusCode).toBe(200);
    const after = await Promise.all(Array.from({ length: 11 }, (_, i) => login(`wrong-password-${i}`)));
    expect(after.map((r) => r.statusCode).sort()).toEqual([...Array(10).fill(401), 429]);
  });

  it('step-up successes, missing codes and a missing enrolment never lock a user out', async () => {
    const acct = await signup(app);
    const sensitive = (headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: `/api/integrations/${randomUUID()}/disconnect`, headers: { ...bearer(acct.accessToken), ...headers } });
    for (let i = 0; i < 12; i++) expect((await sensitive()).json().code).toBe('MFA_ENROLLMENT_REQUIRED');
    const { secret } = (await app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(acct.accessToken) })).json().data;
    await app.inject({ method: 'POST', url: '/api/auth/mfa/enable', headers: bearer(acct.accessToken), payload: { code: await totpAt(secret, t.clock()) } });
    for (let i = 0; i < 12; i++) expect((await sensitive()).json().code).toBe('MFA_REQUIRED');
    for (let i = 0; i < 12; i++) {
      t.clock.advance(30_000);
      // Past the step-up, disconnecting an unknown connection is a 404.
      expect((await sensitive({ 'x-mfa-code': await totpAt(secret, t.clock()) })).statusCode).toBe(404);
    }
  });
});
