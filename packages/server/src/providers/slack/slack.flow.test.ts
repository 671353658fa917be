import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_DIR, loadCatalog } from '../../domains/catalog/catalog.js';
import { bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';
import { callbackWith, consentAt, oauthOptions, startConnect } from '../../test-support/oauth.js';

/**
 * Slack through Keyhold, against the sandbox: the authorize URL's scope list, org-wide
 * (Enterprise Grid) installs and revocation on disconnect.
 */
let sandbox: Sandbox;
let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  sandbox = await createSandbox();
  const opts = oauthOptions(sandbox);
  // An operator's app may ask for more than one scope; the catalog copy asks for two.
  const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-slack-'));
  await cp(CATALOG_DIR, dir, { recursive: true });
  const file = path.join(dir, 'providers', 'slack.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('scopes: [chat:write]', 'scopes: [chat:write, channels:read]'));
  t = await testApp({ ...opts, catalog: loadCatalog({ dir, baseUrlOverrides: opts.providerBaseUrls ?? {}, authUrlOverrides: opts.providerAuthUrls ?? {} }) });
});
afterAll(async () => {
  await t.close();
  await sandbox.close();
});

async function connect(consent: Record<string, string>) {
  const acct = await signup(t.app);
  const started = await startConnect(t.app, acct, 'slack');
  const res = await callbackWith(t.app, await consentAt(started, consent), started.cookie);
  const c = await adminClient();
  try {
    const { rows } = await c.query("select * from connections where tenant_id = $1 and provider = 'slack'", [acct.tenantId]);
    return { acct, started, res, row: rows[0] };
  } finally {
    await c.end();
  }
}

describe('Slack through Keyhold', () => {
  it('asks for its scopes comma-separated, as Slack reads them', async () => {
    const { started, res, row } = await connect({ sandbox_account: `ws-${crypto.randomUUID()}` });
    expect(new URL(started.authUrl).searchParams.get('scope')).toBe('chat:write,channels:read');
    expect(res.statusCode).toBe(302);
    expect(row).toMatchObject({ status: 'active' });
  });

  it('an org-wide (Enterprise Grid) install, team: null, becomes a connection routed by the organisation id', async () => {
    const name = `grid-${crypto.randomUUID()}`;
    const { res, row } = await connect({ sandbox_account: name, sandbox_enterprise: '1' });
    expect(res.statusCode, res.body).toBe(302);
    expect(row?.routing_key).toMatch(/^E[A-Z0-9]{10}$/);
    expect(row.config).toEqual({ teamId: row.routing_key, enterpriseId: row.routing_key, orgWideInstall: 'true' });
    // A second tenant cannot claim the same organisation.
    const again = await connect({ sandbox_account: name, sandbox_enterprise: '1' });
    expect(again.row).toBeUndefined();
  });

  it('disconnect revokes with auth.revoke authenticated by the token itself, sending no client secret', async () => {
    const { acct, row } = await connect({ sandbox_account: `ws-${crypto.randomUUID()}` });
    const code = await enrolMfa(t.app, t.clock, acct);
    const test = () => t.app.inject({ method: 'POST', url: `/api/api-credentials/${row.id}/test`, headers: bearer(acct.accessToken) });
    expect((await test()).statusCode).toBe(200);
    const res = await t.app.inject({ method: 'POST', url: `/api/integrations/${row.id}/disconnect`, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await code() } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.revocation).toBe('revoked');
    const sent = sandbox.requests().filter((r) => r.provider === 'slack' && r.path === '/api/auth.revoke').at(-1)!;
    expect(sent.headers.authorization).toMatch(/^Bearer xoxb-/);
    expect(sent.body).not.toContain('client_secret');
    expect(sent.body).not.toContain('xoxb-');
    expect(sandbox.oauth.stats().slack.revocations).toBeGreaterThanOrEqual(1);
  });
});
