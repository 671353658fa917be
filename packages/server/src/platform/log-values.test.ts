import { describe, expect, it } from 'vitest';
import { captureLogger } from '../test-support/index.js';
import { AppError } from './errors.js';
import { isSecretFieldName, redactUrlSecrets } from './secrets.js';

/** Names seen carrying secrets in provider headers, OAuth flows, MFA and catalog secrets. */
const SECRET_KEYS = [
  'x-shopify-access-token',
  'X-Amz-Access-Token',
  'x-mfa-code',
  'secrets.lwaClientSecret',
  'sessionToken',
  'credentials',
  'code_verifier',
  'code',
  'authorization',
  'Proxy-Authorization',
  'cookie',
  'set-cookie',
  'api-key',
  'x-api-key',
  'password',
  'passphrase',
  'client_secret',
  'refresh_token',
  'recoveryCodes',
  'otp',
  'databaseUrl',
];

/** Names that look close to secrets but hold nothing secret; redacting them only blinds the log. */
const HARMLESS = {
  tokenType: 'Bearer',
  token_type: 'bearer',
  expiresAt: '2030-01-01T00:00:00.000Z',
  expires_in: 3600,
  tokenExpiresAt: '2030-01-01T00:00:00.000Z',
  statusCode: 502,
  errorCode: 'invalid_grant',
  mfa: true,
  scope: 'read write',
  serviceName: 'xero',
  credentialId: 'c-1',
  connectionId: 'k-1',
};

const casings = (key: string) => [...new Set([key, key.toLowerCase(), key.toUpperCase()])];

/** Each place a field can sit in a log call, with the path to read it back from the JSON line. */
const PLACES: Array<{ name: string; log: (key: string, value: string) => Record<string, unknown>; read: (line: any, key: string) => unknown }> = [
  { name: 'top level', log: (k, v) => ({ [k]: v }), read: (l, k) => l[k] },
  { name: 'one level down', log: (k, v) => ({ upstream: { [k]: v } }), read: (l, k) => l.upstream[k] },
  { name: 'four levels down', log: (k, v) => ({ a: { b: { c: { headers: { [k]: v } } } } }), read: (l, k) => l.a.b.c.headers[k] },
  { name: 'in a list', log: (k, v) => ({ calls: [{ ok: 1 }, { [k]: v }] }), read: (l, k) => l.calls[1][k] },
  { name: 'on an error', log: (k, v) => ({ err: Object.assign(new Error('upstream failed'), { [k]: v }) }), read: (l, k) => l.err[k] },
  { name: 'in a Map', log: (k, v) => ({ headers: new Map([[k, v]]) }), read: (l) => l.headers[0][1] },
];

describe('secret-named fields in logs', () => {
  for (const place of PLACES) {
    it(`each secret name is redacted ${place.name}, in every casing`, () => {
      const { log, lines } = captureLogger();
      const expected: Array<[string, string]> = [];
      for (const base of SECRET_KEYS) {
        for (const key of casings(base)) {
          const canary = `canary-${crypto.randomUUID()}`;
          log.info(place.log(key, canary), 'upstream call');
          expected.push([key, canary]);
        }
      }
      expect(lines).toHaveLength(expected.length);
      expected.forEach(([key, canary], i) => {
        expect(lines[i], key).not.toContain(canary);
        // Only Map entries are not redacted by name: a Map is logged as a list of pairs.
        if (place.name !== 'in a Map') expect(place.read(JSON.parse(lines[i]!), key), key).toBe('[REDACTED]');
      });
    });
  }

  it('a secret name given to a child logger or as a number is redacted too', () => {
    const { log, text } = captureLogger();
    log.child({ 'X-Shopify-Access-Token': 'canary-child-binding' }).info({ otp: 918273645, 'x-mfa-code': 564738 }, 'mfa');
    expect(text()).not.toContain('canary-child-binding');
    expect(text()).not.toContain('918273645');
    expect(text()).not.toContain('564738');
  });

  it('harmless fields whose names sit close to secret ones stay readable', () => {
    const { log, lines } = captureLogger();
    log.info({ ...HARMLESS, nested: { ...HARMLESS } }, 'token refreshed');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ ...HARMLESS, nested: HARMLESS });
  });

  it("an error's own code and status stay readable, a secret under another name does not", () => {
    const { log, lines } = captureLogger();
    log.error({ err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', statusCode: 502, accessToken: 'canary-err' }) }, 'x');
    log.error({ err: new AppError('INTEGRATION_NEEDS_REAUTH', 'Reconnect') }, 'y');
    log.error({ err: Object.assign(new Error('grant failed'), { code: 'a1b2-canary-grant' }) }, 'z');
    const [plain, app, grant] = lines.map((l) => JSON.parse(l));
    expect(plain.err).toMatchObject({ code: 'ECONNRESET', statusCode: 502, accessToken: '[REDACTED]' });
    expect(app.err.code).toBe('INTEGRATION_NEEDS_REAUTH');
    expect(grant.err.code).toBe('[REDACTED]');
  });

  it('isSecretFieldName is the one rule and agrees with the lists above', () => {
    for (const key of SECRET_KEYS.flatMap(casings)) expect(isSecretFieldName(key), key).toBe(true);
    for (const key of Object.keys(HARMLESS)) expect(isSecretFieldName(key), key).toBe(false);
  });
});

describe('URLs and query strings in logged text', () => {
  it('credential-bearing parameters are redacted in URL strings under any key, harmless ones kept', () => {
    const { log, text } = captureLogger();
    const c = (name: string) => `canary${name}${crypto.randomUUID().slice(0, 8)}`;
    const canaries = {
      code: c('code'), state: c('state'), token: c('token'), sig: c('sig'), pw: c('pw'), frag: c('frag'),
      body: c('body'), msg: c('msg'), err: c('err'), key: c('key'), amz: c('amz'),
    };
    log.info({ location: `https://app.example/api/integrations/xero/callback?code=${canaries.code}&state=${canaries.state}&scope=accounting` }, 'redirect');
    log.info({ upstream: { next: [`/api/cb?shop=acme.myshopify.com&access_token=${canaries.token}`] } }, 'relative');
    log.info({ link: `https://blob.example/f?sv=2022&sig=${canaries.sig}&X-Amz-Signature=${canaries.amz}&api_key=${canaries.key}` }, 'signed');
    log.info({ target: `postgres://keyhold:${canaries.pw}@127.0.0.1:5432/keyhold` }, 'userinfo');
    log.info({ cb: `https://app.example/cb#access_token=${canaries.frag}&token_type=bearer` }, 'fragment');
    log.info({ sent: `grant_type=authorization_code&code=${canaries.body}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb` }, 'form body');
    log.info(`calling https://api.example/v1?client_secret=${canaries.msg} now`);
    log.warn({ err: new Error(`fetch failed: https://api.example/oauth?refresh_token=${canaries.err}`) }, 'upstream error');
    const out = text();
    for (const [name, canary] of Object.entries(canaries)) expect(out, name).not.toContain(canary);
    for (const kept of ['scope=accounting', 'shop=acme.myshopify.com', 'sv=2022', 'token_type=bearer', 'grant_type=authorization_code', '127.0.0.1:5432/keyhold', 'fetch failed: https://api.example/oauth?']) {
      expect(out).toContain(kept);
    }
  });

  it('a request URL keeps its path and harmless parameters', () => {
    const { log, lines } = captureLogger();
    log.info({ req: { method: 'GET', url: '/api/integrations/xero/callback?code=canary-req&state=s1&scope=a' } }, 'incoming request');
    expect(JSON.parse(lines[0]!).req.url).toBe('/api/integrations/xero/callback?code=%5BREDACTED%5D&state=%5BREDACTED%5D&scope=a');
  });

  it('text without credentials is left exactly as it was', () => {
    for (const s of ['level=info a=b+c', 'https://x.example/a?b=%7E&c=d', 'user@example.com', 'x'.repeat(50), '/api/webhooks/inbound/0b9e3c1a-5d6f-4a7b-8c9d-0e1f2a3b4c5d/replay', '/api/webhooks/shopify']) {
      expect(redactUrlSecrets(s)).toBe(s);
    }
  });

  it("a per-connection webhook URL's token is not logged", () => {
    const { log, lines } = captureLogger();
    const token = 'Zq3w9cTuV0kX7yLmN2pR5sA8dF1gH4jK';
    log.info({ req: { method: 'POST', url: `/api/webhooks/stripe/${token}` } }, 'incoming request');
    expect(JSON.parse(lines[0]!).req.url).toBe('/api/webhooks/stripe/%5BREDACTED%5D');
    expect(lines.join('\n')).not.toContain(token);
  });
});
