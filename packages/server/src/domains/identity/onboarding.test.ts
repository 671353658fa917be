import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { type TestApp, testApp } from '../../test-support/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const get = (token: string) => t.app.inject({ method: 'GET', url: '/api/auth/onboarding', headers: bearer(token) });
const put = (token: string, payload: unknown) => t.app.inject({ method: 'PUT', url: '/api/auth/onboarding', headers: bearer(token), payload: payload as object });

describe('first-run onboarding', () => {
  it('starts with nothing skipped; "skip for now" and setting the list aside are kept for the person, and undone', async () => {
    const owner = await signup(t.app);
    expect((await get(owner.accessToken)).json().data).toEqual({ skipped: [], dismissedAt: null });
    expect((await put(owner.accessToken, { skipped: ['mfa', 'mfa', 'invite'] })).json().data).toEqual({ skipped: ['mfa', 'invite'], dismissedAt: null });
    const dismissed = (await put(owner.accessToken, { dismissed: true })).json().data;
    expect(dismissed.skipped).toEqual(['mfa', 'invite']);
    expect(Date.parse(dismissed.dismissedAt)).toBe(t.clock().getTime());
    // A second sign-in (another browser) sees the same choices.
    const again = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { tenant: owner.slug, email: owner.email, password: owner.password } });
    expect((await get(again.json().data.accessToken)).json().data).toEqual(dismissed);
    expect((await put(owner.accessToken, { dismissed: false, skipped: [] })).json().data).toEqual({ skipped: [], dismissedAt: null });
  });

  it('is per person: a teammate keeps their own list', async () => {
    const owner = await signup(t.app);
    const member = await addMember(t.app, owner, 'viewer');
    await put(owner.accessToken, { skipped: ['connect'], dismissed: true });
    expect((await get(member)).json().data).toEqual({ skipped: [], dismissedAt: null });
  });

  it('refuses unknown steps and empty updates without changing anything', async () => {
    const owner = await signup(t.app);
    await put(owner.accessToken, { skipped: ['mfa'] });
    for (const body of [{ skipped: ['launch-rockets'] }, {}, { dismissed: 'yes' }]) {
      const res = await put(owner.accessToken, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await get(owner.accessToken)).json().data.skipped).toEqual(['mfa']);
  });

  it('belongs to people: an API key is refused', async () => {
    const owner = await signup(t.app);
    const { key } = await createApiKey(t.app, t.clock, owner, { scopes: ['users:read', 'users:write'], role: 'admin' });
    expect((await get(key)).statusCode).toBe(403);
    expect((await put(key, { dismissed: true })).statusCode).toBe(403);
  });
});
