import { createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';
import { appFor, oauthHarness, oauthOptions, startConnect } from '../../test-support/oauth.js';

/**
 * Xero apps created since 2 March 2026 may request granular scopes only; older apps keep the
 * broad ones until September 2027 (https://developer.xero.com/faq/granular-scopes). Keyhold asks
 * for what a new app may request unless the operator says otherwise (KEYHOLD_OAUTH_XERO_SCOPES).
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

describe('Xero scopes', () => {
  it("connects an app created since 2 March 2026 with the catalog's scopes (granular only)", async () => {
    const acct = await signup(h.t.app);
    const res = await h.connect(acct, 'xero', { consent: { sandbox_account: `acct-${crypto.randomUUID()}` } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/admin/integrations?xero=configured');
    const scope = new URL(res.started.authUrl).searchParams.get('scope')!.split(' ');
    expect(scope).toEqual(['offline_access', 'accounting.invoices.read', 'accounting.payments.read', 'accounting.contacts.read']);
    expect(scope.some((s) => s === 'accounting.transactions.read' || s === 'accounting.reports.read')).toBe(false);
  });

  it("the operator's scopes replace the catalog's: an older app keeps its broad scopes; a new app's consent page refuses them", async () => {
    const sandbox = await createSandbox();
    const broad = ['offline_access', 'accounting.transactions.read', 'accounting.contacts.read'];
    const base = oauthOptions(sandbox);
    const t = await testApp({ ...base, oauthApps: { ...base.oauthApps, xero: { clientId: appFor('xero').clientId, clientSecret: new Secret(appFor('xero').clientSecret), scopes: broad } } });
    try {
      const acct = await signup(t.app);
      const consentPage = async () => {
        const started = await startConnect(t.app, acct, 'xero');
        expect(new URL(started.authUrl).searchParams.get('scope')).toBe(broad.join(' '));
        return fetch(started.authUrl, { redirect: 'manual' });
      };
      // Registered as a new app: Xero's own page says the scope is invalid and never comes back.
      const refused = await consentPage();
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'unauthorized_client' });
      // The same app created before the change may still ask for them.
      sandbox.oauth.registerApp('xero', { ...appFor('xero'), redirectUri: 'http://keyhold.test/api/integrations/xero/callback', legacyScopes: true });
      expect((await consentPage()).status).toBe(302);
    } finally {
      await t.close();
      await sandbox.close();
    }
  });
});
