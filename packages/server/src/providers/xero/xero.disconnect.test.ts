import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, enrolMfa, signup } from '../../test-support/accounts.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * A Xero grant can reach several organisations, and revoking it removes every one of the user's
 * connections to the app; so disconnecting one organisation deletes only its connection
 * (DELETE /connections/{id}) and revokes the grant only when nothing else is left.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const deletes = () => h.sandbox.requests().filter((r) => r.provider === 'xero' && r.method === 'DELETE' && r.path.startsWith('/connections/'));

async function connectOrg(orgs: number, pick: number) {
  const acct = await signup(h.t.app);
  const code = await enrolMfa(h.t.app, h.t.clock, acct);
  const name = `acct-${crypto.randomUUID()}`;
  const res = await h.connect(acct, 'xero', { consent: { sandbox_account: name, sandbox_count: String(orgs) } });
  expect(res.statusCode).toBe(302);
  if (orgs > 1) {
    const pendingId = new URL(res.headers.location as string, 'http://x').searchParams.get('pending')!;
    const choiceId = h.sandbox.oauth.accountIds('xero', name, pick).xeroTenantId!;
    const sel = await h.t.app.inject({ method: 'POST', url: `/api/integrations/pending/${pendingId}/select`, headers: bearer(acct.accessToken), payload: { choiceId } });
    expect(sel.statusCode, sel.body).toBe(201);
  }
  const list = (await h.t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(acct.accessToken) })).json().data as Array<{ id: string }>;
  const id = list[0]!.id;
  const disconnect = async () => h.t.app.inject({ method: 'POST', url: `/api/integrations/${id}/disconnect`, headers: { ...bearer(acct.accessToken), 'x-mfa-code': await code() } });
  return { name, disconnect };
}

describe('disconnecting a Xero organisation', () => {
  it('of a grant reaching two organisations: deletes only its connection and keeps the grant (the other organisation stays connected)', async () => {
    const { name, disconnect } = await connectOrg(2, 1);
    const revocations = h.sandbox.oauth.stats().xero.revocations;
    const before = deletes().length;
    const res = await disconnect();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ status: 'disabled', revocation: 'revoked' });
    const removed = deletes().slice(before);
    expect(removed).toHaveLength(1);
    expect(removed[0]!.status).toBe(204);
    expect(h.sandbox.oauth.stats().xero.revocations).toBe(revocations);
    // What the grant still reaches, as Xero lists it: only the other organisation.
    const seen = h.sandbox.requests().filter((r) => r.provider === 'xero' && r.path === '/connections' && r.method === 'GET').at(-1)!;
    const left = (await (await fetch(`${h.sandbox.url}/xero/connections`, { headers: { authorization: seen.headers.authorization! } })).json()) as Array<{ tenantId: string }>;
    expect(left.map((c) => c.tenantId)).toEqual([h.sandbox.oauth.accountIds('xero', name, 0).xeroTenantId]);
  });

  it('of a grant reaching only it: deletes the connection, then revokes the grant', async () => {
    const { disconnect } = await connectOrg(1, 0);
    const revocations = h.sandbox.oauth.stats().xero.revocations;
    const before = deletes().length;
    expect((await disconnect()).json().data).toMatchObject({ status: 'disabled', revocation: 'revoked' });
    expect(deletes().slice(before).map((r) => r.status)).toEqual([204]);
    expect(h.sandbox.oauth.stats().xero.revocations).toBe(revocations + 1);
  });

  it('of a grant Xero no longer knows (the user removed the app): revoked as before, nothing to delete', async () => {
    const { name, disconnect } = await connectOrg(1, 0);
    h.sandbox.oauth.revoke('xero', { account: name });
    const before = deletes().length;
    expect((await disconnect()).json().data).toMatchObject({ status: 'disabled', revocation: 'revoked' });
    expect(deletes().length).toBe(before);
  });

  it('Xero unreachable: the connection is still disconnected here, the outcome says failed', async () => {
    const { disconnect } = await connectOrg(1, 0);
    h.sandbox.fail('xero', { status: 503 });
    try {
      expect((await disconnect()).json().data).toMatchObject({ status: 'disabled', revocation: 'failed' });
    } finally {
      h.sandbox.heal('xero');
    }
  });
});
