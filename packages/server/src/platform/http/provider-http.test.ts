import type { LookupAddress } from 'node:dns';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderHttp } from './provider-http.js';
import { createTenantUrlGuard } from './public-dispatcher.js';

/** A loopback "provider" that records what reached it; each test sets how it answers. */
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok');
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    answer(req, res);
  });
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A zero-TTL name: public for the first `publicAnswers` lookups, loopback after. */
function rebinding(publicAnswers: number) {
  let left = publicAnswers;
  const asked: string[] = [];
  return {
    asked,
    resolve: async (hostname: string): Promise<LookupAddress[]> => {
      asked.push(hostname);
      return [{ address: left-- > 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    },
  };
}

const strict = () => createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: false }) });

describe('ProviderHttp: tenant-supplied URLs', () => {
  it('refuses a tenant URL that is not https or names a loopback address before connecting; the same URL from the catalog is sent', async () => {
    const http = strict();
    const before = seen.length;
    await expect(http.request(`http://127.0.0.1:${port}/v1`, { tenantUrl: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'baseUrl: must use https' });
    await expect(http.fetch(`https://127.0.0.1:${port}/v1`, { tenantUrl: { field: 'additionalConfig.baseUrl' } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^additionalConfig\.baseUrl: must be a public address/),
    });
    expect(seen.length).toBe(before);
    answer = (_req, res) => res.end('catalog');
    const res = await http.request(`http://127.0.0.1:${port}/v1`);
    expect([res.statusCode, await res.body.text()]).toEqual([200, 'catalog']);
  });

  it('a tenant host that answers public to the check and loopback to the connection reaches nothing', async () => {
    const dns = rebinding(1);
    const http = createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: false, resolve: dns.resolve }) });
    const before = seen.length;
    await expect(http.request(`https://api.rebind.test:${port}/v1`, { tenantUrl: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/when Keyhold connected/) });
    // One lookup for the check, one by the connection itself: the refusal came from the connection.
    expect(dns.asked).toEqual(['api.rebind.test', 'api.rebind.test']);
    expect(seen.length).toBe(before);
  });

  it('with private addresses allowed by the operator, a tenant URL on loopback is reached', async () => {
    const http = createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: true }) });
    answer = (_req, res) => res.end('tenant');
    const res = await http.request(`http://127.0.0.1:${port}/v1`, { tenantUrl: true });
    expect(await res.body.text()).toBe('tenant');
  });
});

describe('ProviderHttp: timeouts', () => {
  it('gives up waiting for headers after timeoutMs', async () => {
    answer = () => undefined; // never answers
    const started = performance.now();
    await expect(strict().request(`http://127.0.0.1:${port}/slow`, { timeoutMs: 150 })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('gives up on a body that stalls for bodyTimeoutMs', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
    };
    const res = await strict().request(`http://127.0.0.1:${port}/stall`, { bodyTimeoutMs: 150 });
    await expect(res.body.text()).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
  });
});

describe('ProviderHttp.fetch: a WHATWG fetch over the same client', () => {
  it('sends method, headers and a form body with its content type; answers status, every header value and the body', async () => {
    answer = (_req, res) => {
      res.writeHead(201, [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-request-id', 'r1']]);
      res.end('{"ok":true}');
    };
    const res = await strict().fetch(`http://127.0.0.1:${port}/token`, { method: 'post', headers: { accept: 'application/json' }, body: new URLSearchParams({ grant_type: 'refresh_token' }) });
    const got = seen.at(-1)!;
    expect(got).toMatchObject({ method: 'POST', url: '/token', body: 'grant_type=refresh_token' });
    expect(got.headers).toMatchObject({ accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('x-request-id')).toBe('r1');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('answers 204 and HEAD without a body, and returns a redirect instead of following it', async () => {
    const http = strict();
    answer = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    expect((await http.fetch(`http://127.0.0.1:${port}/revoke`, { method: 'POST', body: '{}' })).body).toBeNull();
    answer = (_req, res) => {
      res.writeHead(200, { 'content-length': '5' });
      res.end();
    };
    expect((await http.fetch(`http://127.0.0.1:${port}/head`, { method: 'HEAD' })).body).toBeNull();
    answer = (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` });
      res.end();
    };
    const before = seen.length;
    const res = await http.fetch(`http://127.0.0.1:${port}/moved`);
    expect([res.status, res.headers.get('location')]).toEqual([302, `http://127.0.0.1:${port}/elsewhere`]);
    expect(seen.length).toBe(before + 1);
  });

  it('streams the body rather than reading it whole first', async () => {
    let finish: () => void = () => undefined;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('head-');
      finish = () => res.end('tail');
    };
    const res = await strict().fetch(`http://127.0.0.1:${port}/stream`);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('head-');
    finish();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('tail');
  });
});
