import { IntegrationNotConfigured, Keyhold, KeyholdError } from '@keyhold/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, createApiKey } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';

let t: Awaited<ReturnType<typeof testApp>>;
let baseUrl: string;
beforeAll(async () => {
  t = await testApp();
  baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => t.close());

describe('@keyhold/sdk against a running Keyhold', () => {
  it("reads the tenant's credentials, per label, and raises typed errors", async () => {
    const acct = await signup(t.app);
    const key = `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;
    await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'stripe', apiKey: key } });
    const apiKey = (await createApiKey(t.app, t.clock, acct, { name: 'sdk', scopes: ['credentials:read'] })).key;

    const keyhold = new Keyhold({ baseUrl, apiKey });
    const stripe = await keyhold.credentials('stripe');
    const typedKey: string = stripe.credentials.apiKey; // typed per provider from the contract
    expect(typedKey).toBe(key);
    expect(stripe).toMatchObject({ provider: 'stripe', label: 'default', credentials: { apiKey: key }, credentialVersion: 1 });

    const missing = await keyhold.credentials('openai').catch((e) => e);
    expect(missing).toBeInstanceOf(IntegrationNotConfigured);
    expect(missing.actions[0].label).toBe('Connect OpenAI');
    const revoked = new Keyhold({ baseUrl, apiKey: `kh_${'A'.repeat(43)}` });
    await expect(revoked.credentials('stripe')).rejects.toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    await expect(revoked.credentials('stripe')).rejects.toBeInstanceOf(KeyholdError);
    expect(() => new Keyhold({ baseUrl, apiKey: 'sk_live_x' })).toThrow(/Keyhold API key/);
  });
});
