import { createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { bearer, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { appFor, callbackWith, consentAt, oauthOptions, startConnect } from '../../test-support/oauth.js';

/**
 * A 401 whose WWW-Authenticate says `insufficient_scope` (RFC 6750 §3.1) is about what the grant
 * allows, not about a stale token: a refresh cannot fix it, so the proxy passes it on without
 * spending one. Xero answers a call outside the granted scopes this way.
 */
const sandbox = await createSandbox();
let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  const base = oauthOptions(sandbox);
  // An app that asks for contacts only: invoices are outside the grant.
  t = await testApp({ ...base, oauthApps: { ...base.oauthApps, xero: { clientId: appFor('xero').clientId, clientSecret: new Secret(appFor('xero').clientSecret), scopes: ['offline_access', 'accounting.contacts.read'] } } });
});
afterAll(async () => {
  await t.close();
  await sandbox.close();
});

describe('proxy: a 401 for missing scope', () => {
  it('is passed on without a token refresh (a refresh cannot grant a scope)', async () => {
    const acct = await signup(t.app);
    const started = await startConnect(t.app, acct, 'xero');
    const callback = await consentAt(started, { sandbox_account: `acct-${crypto.randomUUID()}` });
    expect((await callbackWith(t.app, callback, started.cookie)).statusCode).toBe(302);
    const refreshesBefore = sandbox.oauth.stats().xero!.refresh;
    const res = await t.app.inject({ method: 'GET', url: '/api/proxy/xero/api.xro/2.0/Invoices', headers: bearer(acct.accessToken) });
    expect(res.statusCode).toBe(401);
    expect(String(res.headers['www-authenticate'])).toContain('insufficient_scope');
    expect(sandbox.oauth.stats().xero!.refresh).toBe(refreshesBefore);
    // The token itself is fine: a call inside the grant works.
    expect((await t.app.inject({ method: 'GET', url: '/api/proxy/xero/connections', headers: bearer(acct.accessToken) })).statusCode).toBe(200);
  });
});
