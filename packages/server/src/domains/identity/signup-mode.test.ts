import { afterAll, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from '../../test-support/index.js';

const apps: TestApp[] = [];
afterAll(() => Promise.all(apps.map((a) => a.close())));

describe('GET /api/auth/signup: whether a sign-in page should offer sign-up', () => {
  for (const mode of ['open', 'invite', 'closed'] as const) {
    it(`answers '${mode}' to anyone when KEYHOLD_SIGNUP=${mode}`, async () => {
      const t = await testApp({ signup: mode });
      apps.push(t);
      const res = await t.app.inject({ method: 'GET', url: '/api/auth/signup' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ success: true, data: { mode } });
      expect(res.headers['cache-control']).toBe('no-store');
    });
  }
});
