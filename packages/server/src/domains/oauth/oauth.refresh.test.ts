import { beforeAll, describe, expect, it } from 'vitest';
import { type Account, addMember, bearer, enrolMfa, freshIp, signup, refreshTokenReader } from '../../test-support/accounts.js';
import { oauthHarness, useCrashableHarness, adminQuery } from '../../test-support/oauth.js';

const crashable = useCrashableHarness();
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(() => {
  h = crashable.h;
});

const query = (sql: string, params: unknown[]) => adminQuery(h.scratch!.adminUrl, sql, params);
const rowOf = async (tenantId: string, provider: string) => (await query('select * from connections where tenant_id = $1 and provider = $2', [tenantId, provider]))[0];

async function connected(provider: 'xero' | 'quickbooks' | 'amazon-sp-api' = 'xero') {
  const acct = await signup(h.t.app);
  const account = `acct-${crypto.randomUUID()}`;
  const res = await h.connect(acct, provider, { consent: { sandbox_account: account } });
  if (res.statusCode !== 302) throw new Error(res.body);
  // These tests follow the refresh token's rotation, so they read it as the platform's back end would.
  const read = await refreshTokenReader(h.t.app, h.t.services.apiKeys, acct, provider);
  return { acct, read, account };
}
const refreshes = (provider: 'xero' | 'quickbooks' = 'xero') => h.sandbox.oauth.stats()[provider].refresh;

describe('on-demand refresh', () => {
  it('refreshes a token inside the margin before handing it out, once, and persists the rotated pair', async () => {
    const { acct, read } = await connected();
    const first = (await read()).json().data;
    const id = (await rowOf(acct.tenantId, 'xero')).id as string;
    const masked = async (token: string) => (await h.t.app.inject({ method: 'GET', url: `/api/api-credentials/${id}`, headers: bearer(token) })).json().data;
    // The console shows when a refresh last renewed the token: never, right after connecting.
    expect(await masked(acct.accessToken)).toMatchObject({ last_refreshed: null, token_expires_at: first.expiresAt });
    const before = refreshes();
    expect((await read()).json().data.credentials.accessToken).toBe(first.credentials.accessToken); // fresh: no refresh
    h.t.clock.advance((1800 - 200) * 1000); // 200 s left, inside the 300 s margin
    const reads = await Promise.all(Array.from({ length: 8 }, () => read()));
    expect(refreshes() - before).toBe(1);
    const tokens = new Set(reads.map((r) => r.json().data.credentials.accessToken));
    expect(tokens.size).toBe(1);
    const after = reads[0]!.json().data;
    expect(after.credentials.accessToken).not.toBe(first.credentials.accessToken);
    expect(after.credentials.refreshToken).not.toBe(first.credentials.refreshToken);
    expect(after.credentialVersion).toBe(first.credentialVersion + 1);
    expect(new Date(after.expiresAt).getTime() - h.t.clock().getTime()).toBeGreaterThan(1700_000);
    const row = await rowOf(acct.tenantId, 'xero');
    expect([row.refresh_lease_owner, row.status]).toEqual([null, 'active']);
    const signedIn = await h.t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: freshIp(), payload: { tenant: acct.slug, email: acct.email, password: acct.password } });
    const shown = await masked(signedIn.json().data.accessToken);
    expect(shown.last_refreshed).toBe(row.last_refreshed_at.toISOString());
    expect(shown.token_expires_at).toBe(after.expiresAt);
  });

  it('marks a revoked grant needs_reauth: 409 with a reconnect action, an event, an audit entry, and no retry loop', async () => {
    const { acct, read, account } = await connected();
    h.sandbox.oauth.revoke('xero', { account });
    h.t.clock.advance(1700 * 1000);
    const before = refreshes();
    const res = await read();
    expect([res.statusCode, res.json().code]).toEqual([409, 'INTEGRATION_NEEDS_REAUTH']);
    expect(res.json().actions[0]).toMatchObject({ label: 'Reconnect Xero', url: '/admin/integrations?connect=xero' });
    expect((await read()).json().code).toBe('INTEGRATION_NEEDS_REAUTH');
    expect(refreshes() - before).toBe(0); // invalid_grant is not a counted refresh, and nothing retried
    expect((await rowOf(acct.tenantId, 'xero')).status).toBe('needs_reauth');
    const events = await query('select type from connection_events where tenant_id = $1 order by id', [acct.tenantId]);
    expect(events.map((e) => e.type)).toEqual(['connected', 'needs_reauth']);
    const audit = await query("select action, metadata from audit_logs where tenant_id = $1 and action like 'oauth.%' order by seq", [acct.tenantId]);
    expect(audit.map((a) => a.action)).toContain('oauth.refresh_failed');
    // Reconnecting heals it, same connection.
    const id = (await rowOf(acct.tenantId, 'xero')).id;
    const session = await h.t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: acct.refreshToken } });
    expect((await h.connect({ ...acct, accessToken: session.json().data.accessToken }, 'xero')).statusCode).toBe(302);
    expect(await rowOf(acct.tenantId, 'xero')).toMatchObject({ id, status: 'active' });
  });

  it('backs off on transient failures, degrades after three, hands out a still-valid token, never an expired one, and recovers', async () => {
    const { acct, read } = await connected();
    h.sandbox.fail('xero', { status: 503, path: '/connect/token' });
    try {
      h.t.clock.advance(1600 * 1000); // 200 s of validity left
      const valid = await read();
      expect(valid.statusCode).toBe(200); // refresh failed, the current token is still good for 200 s
      expect((await rowOf(acct.tenantId, 'xero')).refresh_failures).toBe(1);
      // Within the backoff nothing calls the provider again.
      const calls = h.sandbox.requests().length;
      await read();
      expect(h.sandbox.requests().length).toBe(calls);
      for (let i = 0; i < 2; i++) {
        h.t.clock.advance(45_000 * 2 ** i);
        await read();
      }
      const degraded = await rowOf(acct.tenantId, 'xero');
      expect([degraded.status, degraded.refresh_failures]).toEqual(['degraded', 3]);
      h.t.clock.advance(400 * 1000); // now expired
      const expired = await read();
      expect([expired.statusCode, expired.json().code]).toEqual([503, 'INTEGRATION_TOKEN_EXPIRED']);
      expect(Number(expired.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      h.sandbox.heal('xero');
    }
    h.t.clock.advance(30 * 60_000);
    const healed = await read();
    expect(healed.statusCode).toBe(200);
    expect(await rowOf(acct.tenantId, 'xero')).toMatchObject({ status: 'active', refresh_failures: 0 });
    const events = await query('select type from connection_events where tenant_id = $1 order by id', [acct.tenantId]);
    // Each failure is noted; the third degrades the connection, the fourth (token expired) is noted again.
    expect(events.map((e) => e.type)).toEqual(['connected', 'refresh_failed', 'refresh_failed', 'degraded', 'refresh_failed', 'recovered']);
  });

  it('recovers from a crash between the provider answer and the write, inside Xero\'s grace window', async () => {
    const { acct, read } = await connected();
    const stored = (await read()).json().data.credentials.refreshToken;
    h.t.clock.advance(1600 * 1000);
    crashable.crashAfterNextAnswer();
    expect((await read()).statusCode).toBe(500); // the node "died" after Xero rotated the token
    h.t.clock.advance(31_000); // its refresh lease runs out
    expect((await read()).json().data.credentials.refreshToken).not.toBe(stored); // the old token still worked
    expect((await rowOf(acct.tenantId, 'xero')).status).toBe('active');
  });

  it('QuickBooks, once it rotates the refresh token, has no grace window: the same crash leaves the connection needing a reconnect', async () => {
    // Intuit rotates about once a day; the sandbox rotates on every use to reach that moment now.
    h.sandbox.oauth.configure('quickbooks', { refreshGraceSeconds: 0, refreshTokenReuseSeconds: 0 });
    try {
      const { acct, read } = await connected('quickbooks');
      h.t.clock.advance(3500 * 1000);
      crashable.crashAfterNextAnswer();
      expect((await read()).statusCode).toBe(500);
      h.t.clock.advance(31_000);
      expect((await read()).json().code).toBe('INTEGRATION_NEEDS_REAUTH');
      expect((await rowOf(acct.tenantId, 'quickbooks')).status).toBe('needs_reauth');
    } finally {
      h.sandbox.oauth.configure('quickbooks', { refreshTokenReuseSeconds: 86400 });
    }
  });

  it('QuickBooks: Keyhold stores whichever refresh token comes back, the same one within a day or a rotated one', async () => {
    const { read } = await connected('quickbooks');
    const first = (await read()).json().data.credentials;
    h.t.clock.advance(3500 * 1000);
    const same = (await read()).json().data.credentials;
    expect(same.accessToken).not.toBe(first.accessToken);
    expect(same.refreshToken).toBe(first.refreshToken); // Intuit hands the same one back within about 24 h
    h.sandbox.oauth.configure('quickbooks', { refreshTokenReuseSeconds: 0 });
    try {
      h.t.clock.advance(3500 * 1000);
      const rotated = (await read()).json().data.credentials;
      expect(rotated.refreshToken).not.toBe(first.refreshToken);
      h.t.clock.advance(3500 * 1000);
      expect((await read()).json().data.credentials.accessToken).not.toBe(rotated.accessToken); // the stored (new) one works
    } finally {
      h.sandbox.oauth.configure('quickbooks', { refreshTokenReuseSeconds: 86400 });
    }
  });

  it('QuickBooks within the day it keeps the refresh token: a crash after the answer is recovered from', async () => {
    const { acct, read } = await connected('quickbooks');
    h.t.clock.advance(3500 * 1000);
    crashable.crashAfterNextAnswer();
    expect((await read()).statusCode).toBe(500);
    h.t.clock.advance(31_000);
    expect((await read()).statusCode).toBe(200);
    expect((await rowOf(acct.tenantId, 'quickbooks')).status).toBe('active');
  });

  it('Amazon keeps its refresh token across refreshes', async () => {
    const { read } = await connected('amazon-sp-api');
    const before = (await read()).json().data.credentials;
    h.t.clock.advance(3500 * 1000);
    const after = (await read()).json().data.credentials;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).toBe(before.refreshToken);
  });
});

describe('background refresh', () => {
  it('sweeps every connection expiring within the margin, once, across tenants', async () => {
    // One after the other: each sign-up enrols MFA on the shared test clock.
    const conns = [await connected(), await connected(), await connected('quickbooks')];
    h.t.clock.advance(4000 * 1000); // every token above is now past its refresh point
    const before = refreshes() + refreshes('quickbooks');
    const [a, b] = await Promise.all([h.t.services.tokens.sweep(), h.t.services.tokens.sweep()]);
    expect(a.failed + b.failed).toBe(0);
    expect(refreshes() + refreshes('quickbooks') - before).toBeGreaterThanOrEqual(3);
    for (const c of conns) expect(new Date((await c.read()).json().data.expiresAt).getTime()).toBeGreaterThan(h.t.clock().getTime() + 1700_000);
    const again = await h.t.services.tokens.sweep();
    expect(again.claimed).toBe(0);
  });
});

describe('background refresh, failures', () => {
  it('a revoked grant in a swept batch becomes needs_reauth; the others are refreshed', async () => {
    const [ok, revoked] = [await connected(), await connected()];
    h.sandbox.oauth.revoke('xero', { account: revoked.account });
    h.t.clock.advance(4000 * 1000);
    const stats = await h.t.services.tokens.sweep();
    expect(stats.failed).toBeGreaterThanOrEqual(1);
    expect((await rowOf(revoked.acct.tenantId, 'xero')).status).toBe('needs_reauth');
    expect((await ok.read()).statusCode).toBe(200);
    expect((await rowOf(ok.acct.tenantId, 'xero')).status).toBe('active');
  });
});

describe('disconnect', () => {
  async function withMfa(): Promise<{ acct: Account; code: () => Promise<string> }> {
    const acct = await signup(h.t.app);
    return { acct, code: await enrolMfa(h.t.app, h.t.clock, acct) };
  }

  it('owner + MFA: revokes at the provider, disables the connection, frees the account, keeps the id for a reconnect', async () => {
    const { acct, code } = await withMfa();
    const name = `acct-${crypto.randomUUID()}`;
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    const row = await rowOf(acct.tenantId, 'xero');
    const url = `/api/integrations/${row.id}/disconnect`;
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(acct.accessToken) })).json().code).toBe('MFA_REQUIRED');
    const admin = await addMember(h.t.app, acct, 'admin');
    expect((await h.t.app.inject({ method: 'POST', url, headers: bearer(admin) })).statusCode).toBe(403);
    const stranger = await withMfa();
    expect((await h.t.app.inject({ method: 'POST', url, headers: { ...bearer(stranger.acct.accessToken), 'x-mfa-code': await stranger.code() } })).statusCode).toBe(404);

    const revocationsBefore = h.sandbox.oauth.stats().xero?.revocations ?? 0;
    const res = await h.t.app.inject({ method: 'POST', url, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await code() } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ id: row.id, status: 'disabled', revocation: 'revoked' });
    expect(h.sandbox.oauth.stats().xero?.revocations).toBe(revocationsBefore + 1);
    expect(await rowOf(acct.tenantId, 'xero')).toMatchObject({ id: row.id, is_active: false, routing_key: null, token_expires_at: null });
    // The account is free for another tenant; reconnecting here keeps the id.
    expect((await h.connect(acct, 'xero', { consent: { sandbox_account: name } })).statusCode).toBe(302);
    expect(await rowOf(acct.tenantId, 'xero')).toMatchObject({ id: row.id, status: 'active', is_active: true });
  });

  it('deleting an OAuth connection revokes it too', async () => {
    const { acct, code } = await withMfa();
    expect((await h.connect(acct, 'quickbooks')).statusCode).toBe(302);
    const row = await rowOf(acct.tenantId, 'quickbooks');
    const before = h.sandbox.oauth.stats().quickbooks?.revocations ?? 0;
    const res = await h.t.app.inject({ method: 'DELETE', url: `/api/api-credentials/${row.id}`, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await code() } });
    expect(res.statusCode, res.body).toBe(200);
    expect(h.sandbox.oauth.stats().quickbooks?.revocations).toBe(before + 1);
  });
});
