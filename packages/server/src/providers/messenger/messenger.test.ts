import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, signup } from '../../test-support/accounts.js';
import { adminClient } from '../../test-support/index.js';
import { appFor, oauthHarness } from '../../test-support/oauth.js';
import type { OAuthContext } from '../adapter.js';
import { messenger } from './index.js';

let h: Awaited<ReturnType<typeof oauthHarness>>;
beforeAll(async () => {
  h = await oauthHarness();
});
afterAll(() => h.close());

const connectionRow = async (tenantId: string) => {
  const c = await adminClient();
  try {
    return (await c.query("select * from connections where tenant_id = $1 and provider = 'messenger'", [tenantId])).rows[0];
  } finally {
    await c.end();
  }
};

/** Connects a user with `count` Pages and picks the last one; returns the connection row and the stored Page token as the provider saw it. */
async function connectPages(count: number) {
  const acct = await signup(h.t.app);
  const name = `acct-${crypto.randomUUID()}`;
  const res = await h.connect(acct, 'messenger', { consent: { sandbox_account: name, sandbox_count: String(count) } });
  expect(res.statusCode).toBe(302);
  const pendingId = new URL(res.headers.location as string, 'http://x').searchParams.get('pending')!;
  const pending = await h.t.app.inject({ method: 'GET', url: `/api/integrations/pending/${pendingId}`, headers: bearer(acct.accessToken) });
  const choices = pending.json().data.choices as Array<{ id: string }>;
  const last = h.sandbox.oauth.accountIds('messenger', name, count - 1).pageId!;
  const sel = await h.t.app.inject({ method: 'POST', url: `/api/integrations/pending/${pendingId}/select`, headers: bearer(acct.accessToken), payload: { choiceId: last } });
  expect(sel.statusCode).toBe(201);
  const row = await connectionRow(acct.tenantId);
  const before = h.sandbox.requests().length;
  const test = await h.t.app.inject({ method: 'POST', url: `/api/api-credentials/${row.id}/test`, headers: bearer(acct.accessToken) });
  expect(test.statusCode).toBe(200);
  const verify = h.sandbox.requests().slice(before).find((r) => r.provider === 'messenger' && r.path.endsWith('/me'))!;
  const pageToken = /^Bearer (\S+)$/.exec(verify.headers.authorization ?? '')![1]!;
  return { choices, row, pageToken, last };
}

describe('Messenger Page tokens', () => {
  it('lists every Page of a user with more than 25 (Graph pages /me/accounts by 25)', async () => {
    const { choices, row, last } = await connectPages(30);
    expect(choices).toHaveLength(30);
    expect(row).toMatchObject({ routing_key: last, config: { pageId: last } });
  });

  it('stores a Page token derived from a long-lived user token: no expiry, and it still works hours later', async () => {
    const { row, pageToken } = await connectPages(2);
    expect(row.token_expires_at).toBeNull();
    // A Page token listed with the code exchange's short-lived user token would die within the hour.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3 * 3600_000 });
    try {
      const me = await fetch(`${h.sandbox.url}/messenger/v21.0/me`, { headers: { authorization: `Bearer ${pageToken}` } });
      expect(me.status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('exchanges the user token with a form POST, so the app secret and tokens stay out of URLs', async () => {
    const before = h.sandbox.requests().length;
    await connectPages(1 + 1);
    const exchange = h.sandbox.requests().slice(before).filter((r) => r.provider === 'messenger' && r.path.endsWith('/oauth/access_token') && r.body.includes('fb_exchange_token'));
    expect(exchange).toHaveLength(1);
    expect(exchange[0]).toMatchObject({ method: 'POST', query: '' });
    expect(new URLSearchParams(exchange[0]!.body).get('client_secret')).toBe(appFor('messenger').clientSecret);
    for (const r of h.sandbox.requests().slice(before).filter((x) => x.provider === 'messenger')) expect(r.query).not.toMatch(/access_token=|client_secret=/);
  });
});

describe('Messenger paging links', () => {
  it("refuses a paging link to another host: the user token is sent only to Graph", async () => {
    const asked: string[] = [];
    const reply = (body: unknown) => ({ statusCode: 200, headers: {}, body: { json: async () => body, dump: async () => undefined } });
    const http = {
      request: async (url: string) => {
        asked.push(url);
        if (url.endsWith('/oauth/access_token')) return reply({ access_token: 'EAAlong', token_type: 'bearer', expires_in: 5183944 });
        return reply({ data: [{ id: '1', name: 'P', access_token: 'EAApage' }], paging: { next: 'https://graph.evil.test/v21.0/me/accounts?access_token=EAAlong&after=x' } });
      },
    };
    const ctx = {
      provider: { id: 'messenger', baseUrl: 'https://graph.facebook.com', verify: { path: '/v21.0/me' }, oauth: { tokenUrl: 'https://graph.facebook.com/v21.0/oauth/access_token' } },
      params: {}, app: { clientId: 'app', clientSecret: 'secret' }, now: new Date(), http,
    } as unknown as OAuthContext;
    const grant = { tokens: { accessToken: 'EAAshort' }, response: {}, query: {} };
    await expect(messenger.oauth!.accounts!(grant, ctx)).rejects.toMatchObject({ code: 'OAUTH_EXCHANGE_FAILED' });
    expect(asked.some((u) => u.includes('evil'))).toBe(false);
  });
});

describe('Messenger Page webhook subscription', () => {
  const subscribeRequests = (from: number) => h.sandbox.requests().slice(from).filter((r) => r.provider === 'messenger' && r.path.endsWith('/subscribed_apps'));

  it('subscribes the app to every granted Page with its own Page token, nothing secret in the URL', async () => {
    const before = h.sandbox.requests().length;
    const { row, last, pageToken } = await connectPages(2);
    expect(row.config).toMatchObject({ pageId: last, webhooks: 'subscribed' });
    expect(h.sandbox.oauth.pageSubscription(last)).toEqual(expect.arrayContaining(['messages', 'messaging_postbacks']));
    const sent = subscribeRequests(before);
    expect(sent).toHaveLength(2);
    const forLast = sent.find((r) => r.path.includes(`/${last}/`))!;
    expect(forLast.method).toBe('POST');
    expect(forLast.headers.authorization).toBe(`Bearer ${pageToken}`);
    expect(sent.every((r) => !/access_token|EAA/.test(r.path + (r.query ?? '')))).toBe(true);
  });

  it('a refused subscription does not fail the connect: it is logged without the token and shown on the connection', async () => {
    const acct = await signup(h.t.app);
    const name = `acct-${crypto.randomUUID()}`;
    const pageId = h.sandbox.oauth.accountIds('messenger', name, 0).pageId!;
    h.sandbox.oauth.refusePageSubscription(pageId);
    const logFrom = h.t.logs.lines.length;
    const res = await h.connect(acct, 'messenger', { consent: { sandbox_account: name, sandbox_count: '1' } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toContain('messenger=configured');
    const row = await connectionRow(acct.tenantId);
    expect(row.config).toMatchObject({ pageId, webhooks: 'not_subscribed' });
    expect(h.sandbox.oauth.pageSubscription(pageId)).toBeUndefined();
    const listed = await h.t.app.inject({ method: 'GET', url: `/api/api-credentials/${row.id}`, headers: bearer(acct.accessToken) });
    expect(listed.body).toContain('not_subscribed');
    const warned = h.t.logs.lines.slice(logFrom).filter((l) => l.includes('not subscribed to webhooks'));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0]!)).toMatchObject({ provider: 'messenger', pageId, status: 403, graphError: 200 });
    expect(h.t.logs.lines.slice(logFrom).join('\n')).not.toMatch(/EAA[A-Za-z0-9]/);
  });
});
