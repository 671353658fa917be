import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../test-support/accounts.js';
import { credentialsFor } from '../test-support/credentials.js';
import { oauthHarness } from '../test-support/oauth.js';

/*
 * Catalog entries of API-key providers held to what the providers document (each guide in
 * docs/providers/<id>.md cites the pages), played by the sandbox.
 */

let h: Awaited<ReturnType<typeof oauthHarness>>;
let acct: Account;
beforeAll(async () => {
  h = await oauthHarness();
  acct = await signup(h.t.app);
});
afterAll(() => h.close());

const saveKey = (provider: string, body: Record<string, unknown>, label: string) =>
  h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: provider, ...body, label } });

describe('Kustomer', () => {
  it('a key holding only the roles its integration needs passes the connection test; a wrong key still fails', async () => {
    const { body, seed } = credentialsFor('kustomer');
    h.sandbox.seed('kustomer', { ...seed, roles: 'org.permission.customer.read,org.permission.conversation.read' });
    const test = (apiKey: unknown) => h.t.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(acct.accessToken), payload: { serviceName: 'kustomer', ...body, apiKey } });
    const good = await test(body.apiKey);
    expect(good.statusCode, good.body).toBe(200);
    const bad = await test(`${String(body.apiKey).slice(0, -4)}0000`);
    expect([bad.statusCode, bad.json().code]).toEqual([422, 'CONNECTION_TEST_FAILED']);
    // The key still gets Kustomer's own 403 where its roles end: Keyhold passes it through.
    expect((await saveKey('kustomer', body, 'least-privilege')).statusCode).toBe(201);
    const users = await h.t.app.inject({ method: 'GET', url: '/api/proxy/kustomer/v1/users/current', headers: { ...bearer(acct.accessToken), 'x-connection-label': 'least-privilege' } });
    expect([users.statusCode, users.headers['x-keyhold-upstream-status']]).toEqual([403, '403']);
  });
});

describe('AssemblyAI', () => {
  it('a connection may poll its transcripts many times a minute (the documented HTTP limit is 20,000 requests per 5 minutes)', async () => {
    const { body, seed } = credentialsFor('assemblyai');
    h.sandbox.seed('assemblyai', seed);
    expect((await saveKey('assemblyai', body, 'polling')).statusCode).toBe(201);
    const statuses = [];
    for (let i = 0; i < 30; i++) {
      const res = await h.t.app.inject({ method: 'GET', url: '/api/proxy/assemblyai/v2/transcript?limit=1', headers: { ...bearer(acct.accessToken), 'x-connection-label': 'polling', 'x-keyhold-max-wait': '0' } });
      statuses.push(res.statusCode);
    }
    expect(statuses.every((s) => s === 200), statuses.join(',')).toBe(true);
  });
});
