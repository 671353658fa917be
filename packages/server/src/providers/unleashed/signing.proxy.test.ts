import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * Unleashed signs the query string as it is sent (percent-encoded): through the proxy, a query
 * with spaces, `+`, `&` inside values or non-ASCII characters is signed over exactly the bytes
 * that reach Unleashed (the sandbox checks the received bytes and refuses any other spelling).
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let acct: Account;
beforeAll(async () => {
  h = await oauthHarness();
  acct = await signup(h.t.app);
  const { body, seed } = credentialsFor('unleashed');
  h.sandbox.seed('unleashed', seed);
  const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: 'unleashed', ...body } });
  expect(res.statusCode, res.body).toBe(201);
});
afterAll(() => h.close());

const lastQuery = () => h.sandbox.requests().filter((r) => r.provider === 'unleashed').at(-1)!;

describe('Unleashed signing through the proxy', () => {
  const cases: Array<[string, string, string]> = [
    ['encoded spaces, & and + inside values', '?productDescription=Blue%20%26%20Green&productCode=A%2BB', '?productDescription=Blue%20%26%20Green&productCode=A%2BB'],
    ['+ for a space, kept as +', '?productDescription=Blue+Green', '?productDescription=Blue+Green'],
    ['non-ASCII, UTF-8 percent-encoded', '?productDescription=Caf%C3%A9', '?productDescription=Caf%C3%A9'],
    ["characters a URL encodes on the way out (' and \")", `?productCode=O'Brien&x="q"`, '?productCode=O%27Brien&x=%22q%22'],
  ];
  for (const [what, query, onTheWire] of cases) {
    it(`${what}: accepted, the signed query is the one sent`, async () => {
      const res = await h.t.app.inject({ method: 'GET', url: `/api/proxy/unleashed/StockOnHand${query}`, headers: { ...bearer(acct.accessToken), 'x-keyhold-max-wait': '5000' } });
      expect(res.statusCode, res.body).toBe(200);
      const seen = lastQuery();
      expect([seen.path, seen.query, seen.status]).toEqual(['/StockOnHand', onTheWire, 200]);
    });
  }
});
