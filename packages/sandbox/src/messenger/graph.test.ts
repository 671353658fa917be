import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';
import { consent } from '../test-support/oauth.js';

let sandbox: Sandbox;
const app = { clientId: '99887766', clientSecret: 'fb-secret-graph', redirectUri: 'https://keyhold.test/cb/fb' };
beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.oauth.registerApp('messenger', app);
});
afterAll(() => sandbox.close());

const graph = (path: string) => `${sandbox.url}/messenger/v21.0${path}`;
const getJson = async (url: string, token?: string) => {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

/** Consent + code exchange: a short-lived user token. */
async function shortLivedUser(count: number) {
  const q = new URLSearchParams({ client_id: app.clientId, redirect_uri: app.redirectUri, state: 's', sandbox_account: `acct-${crypto.randomUUID()}`, sandbox_count: String(count) });
  const { query } = await consent(`${graph('/dialog/oauth')}?${q}`);
  const tq = new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, redirect_uri: app.redirectUri, code: query.code! });
  return (await getJson(`${graph('/oauth/access_token')}?${tq}`)).body as { access_token: string; expires_in: number };
}

const exchange = (token: string, method: 'GET' | 'POST') => {
  const params = new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: app.clientId, client_secret: app.clientSecret, fb_exchange_token: token });
  return method === 'GET'
    ? fetch(`${graph('/oauth/access_token')}?${params}`)
    : fetch(graph('/oauth/access_token'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params });
};

describe('Facebook user and Page tokens', () => {
  it('fb_exchange_token turns a short-lived user token into a long-lived one, as a GET or a form POST', async () => {
    const user = await shortLivedUser(1);
    expect(user.expires_in).toBe(3600);
    for (const method of ['GET', 'POST'] as const) {
      const res = await exchange(user.access_token, method);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ access_token: expect.stringMatching(/^EAA/), token_type: 'bearer', expires_in: 5183944 });
    }
    const wrongSecret = await fetch(`${graph('/oauth/access_token')}?${new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: app.clientId, client_secret: 'nope', fb_exchange_token: user.access_token })}`);
    expect(wrongSecret.status).toBe(401);
    const unknown = await exchange('EAAnot-a-token', 'GET');
    expect([unknown.status, ((await unknown.json()) as any).error.code]).toEqual([400, 190]);
  });

  it('a Page token from a short-lived user token dies with it; one from a long-lived user token does not expire', async () => {
    const user = await shortLivedUser(1);
    const long = (await (await exchange(user.access_token, 'GET')).json()) as { access_token: string };
    const shortPage = (await getJson(graph('/me/accounts'), user.access_token)).body.data[0].access_token as string;
    const longPage = (await getJson(graph('/me/accounts'), long.access_token)).body.data[0].access_token as string;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3600_000 });
    try {
      expect((await getJson(graph('/me'), shortPage)).body).toMatchObject({ error: { code: 190, error_subcode: 463 } });
      expect((await getJson(graph('/me'), longPage)).status).toBe(200);
      vi.setSystemTime(Date.now() + 400 * 86400_000);
      expect((await getJson(graph('/me'), longPage)).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('/me/accounts pages by 25 with cursors and an absolute next link until the last page', async () => {
    const user = await shortLivedUser(60);
    const first = await getJson(graph('/me/accounts'), user.access_token);
    expect(first.body.data).toHaveLength(25);
    expect(first.body.paging).toMatchObject({ cursors: { before: expect.any(String), after: expect.any(String) }, next: expect.stringContaining('/messenger/v21.0/me/accounts?') });
    const ids: string[] = first.body.data.map((p: { id: string }) => p.id);
    let next: string | undefined = first.body.paging.next;
    let hops = 0;
    while (next) {
      // Graph's next link carries the token itself: it works without a header.
      const page = await getJson(next);
      ids.push(...page.body.data.map((p: { id: string }) => p.id));
      next = page.body.paging?.next;
      hops++;
    }
    expect(hops).toBe(2);
    expect(new Set(ids).size).toBe(60);
    const small = await getJson(`${graph('/me/accounts')}?limit=100`, user.access_token);
    expect([small.body.data.length, small.body.paging.next]).toEqual([60, undefined]);
  });
});

describe('POST /{page-id}/subscribed_apps', () => {
  const subscribe = (pageId: string, token: string, fields = 'messages,messaging_postbacks') =>
    fetch(graph(`/${pageId}/subscribed_apps`), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields ? { subscribed_fields: fields } : {}) });

  it("subscribes the app with the Page's own token only, and needs subscribed_fields", async () => {
    const user = await shortLivedUser(2);
    const pages = (await getJson(graph('/me/accounts'), user.access_token)).body.data as Array<{ id: string; access_token: string }>;
    const [a, b] = [pages[0]!, pages[1]!];
    expect((await subscribe(a.id, user.access_token)).status).toBe(400); // a user token
    expect((await subscribe(a.id, b.access_token)).status).toBe(403); // another Page's token
    expect((await subscribe(a.id, a.access_token, '')).status).toBe(400);
    expect(sandbox.oauth.pageSubscription(a.id)).toBeUndefined();
    const ok = await subscribe(a.id, a.access_token);
    expect([ok.status, await ok.json()]).toEqual([200, { success: true }]);
    expect(sandbox.oauth.pageSubscription(a.id)).toEqual(['messages', 'messaging_postbacks']);
    sandbox.oauth.refusePageSubscription(b.id);
    const refused = await subscribe(b.id, b.access_token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(200);
    expect((await subscribe(a.id, 'EAAnope')).status).toBe(401);
  });
});
