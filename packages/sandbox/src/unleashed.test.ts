import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox, unleashedSignature } from './index.js';

/**
 * Unleashed signs "the query string" (https://apidocs.unleashedsoftware.com/AuthenticationHelp):
 * the sandbox checks the signature over the query exactly as it arrives, percent-encoding and all.
 */
let s: Sandbox;
const apiId = crypto.randomUUID();
const apiKey = 'unleashed-special-key==';
beforeAll(async () => {
  s = await createSandbox();
  s.seed('unleashed', { apiId, apiKey });
});
afterAll(() => s.close());

/** A GET with the request target written byte for byte (no client-side URL normalisation). */
function rawGet(target: string, signature: string): Promise<number> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, headers: { 'api-auth-id': apiId, 'api-auth-signature': signature, accept: 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Unleashed signature over special characters', () => {
  const cases = [
    ['spaces as %20, & and + inside values', 'productDescription=Blue%20%26%20Green&productCode=A%2BB'],
    ['spaces as +', 'productDescription=Blue+Green'],
    ['non-ASCII, UTF-8 percent-encoded', 'productDescription=Caf%C3%A9%20cr%C3%A8me'],
  ] as const;
  for (const [what, query] of cases) {
    it(`accepts the signature of the query as sent (${what}), refuses the decoded one`, async () => {
      expect(await rawGet(`/unleashed/StockOnHand?${query}`, unleashedSignature(apiKey, query))).toBe(200);
      const decoded = decodeURIComponent(query.replaceAll('+', ' '));
      expect(decoded).not.toBe(query);
      expect(await rawGet(`/unleashed/StockOnHand?${query}`, unleashedSignature(apiKey, decoded))).toBe(403);
    });
  }

  it('checks the bytes received, not a re-serialised URL (a raw quote stays a quote)', async () => {
    // WHATWG URL parsing would turn ' into %27; Unleashed sees what the client sent.
    const query = "productCode=O'Brien";
    expect(await rawGet(`/unleashed/StockOnHand?${query}`, unleashedSignature(apiKey, query))).toBe(200);
    expect(await rawGet(`/unleashed/StockOnHand?${query}`, unleashedSignature(apiKey, 'productCode=O%27Brien'))).toBe(403);
  });
});
