import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './test-support/index.js';

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe('OpenAPI document', () => {
  it('lists every API route with a success response schema', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, { responses?: Record<string, { content?: unknown }> }>>(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        documented.add(`${method.toUpperCase()} ${path}`);
        if (path.startsWith('/api/proxy/')) continue; // passes the provider's answer through: no schema of ours
        // A browser-facing route answers with a documented redirect instead.
        const success = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith('2') || code === '302');
        expect(success?.[0] === '302' ? success[1] : success?.[1].content, `${method} ${path} has no success schema`).toBeDefined();
      }
    }
    for (const route of [
      'POST /api/auth/signup', 'POST /api/auth/login', 'POST /api/auth/mfa/verify', 'POST /api/auth/refresh',
      'POST /api/auth/logout', 'GET /api/auth/me', 'GET /api/auth/sessions', 'DELETE /api/auth/sessions/{id}',
      'POST /api/auth/mfa/setup', 'POST /api/auth/mfa/enable', 'POST /api/auth/mfa/disable', 'POST /api/auth/invite/accept',
      'GET /api/users', 'POST /api/users', 'PATCH /api/users/{id}', 'DELETE /api/users/{id}',
      'GET /api/api-keys', 'POST /api/api-keys', 'DELETE /api/api-keys/{id}', 'GET /api/audit-logs',
      'POST /api/admin/auth/login', 'POST /api/admin/auth/mfa/verify', 'POST /api/admin/auth/refresh', 'POST /api/admin/auth/logout',
      'GET /api/admin/auth/me', 'POST /api/admin/auth/mfa/setup', 'POST /api/admin/auth/mfa/enable',
      'GET /api/admin/tenants', 'POST /api/admin/tenants', 'GET /api/admin/tenants/{id}', 'PATCH /api/admin/tenants/{id}',
      'POST /api/admin/tenants/{id}/suspend', 'POST /api/admin/tenants/{id}/reactivate', 'DELETE /api/admin/tenants/{id}',
      'GET /api/admin/api-keys', 'POST /api/admin/api-keys', 'DELETE /api/admin/api-keys/{id}',
      'GET /api/integrations/{provider}/authorize', 'GET /api/integrations/{provider}/callback', 'POST /api/integrations/{id}/disconnect',
      'GET /api/integrations/pending/{id}', 'POST /api/integrations/pending/{id}/select',
      'GET /health', 'GET /ready',
    ]) {
      expect(documented.has(route), route).toBe(true);
    }
  });
});
