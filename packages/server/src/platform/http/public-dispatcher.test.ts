import type { LookupAddress, LookupOptions } from 'node:dns';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Server, connect, createServer } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { createPublicOnlyDispatcher, publicOnlyLookup } from './public-dispatcher.js';
import type { Resolve } from './ssrf.js';

const answers = (...addresses: string[]): LookupAddress[] => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

/** A resolver that answers `addresses` for every name and remembers what it was asked. */
function fixedResolver(...addresses: string[]) {
  const asked: { hostname: string; options: object }[] = [];
  const resolve: Resolve = async (hostname, options) => {
    asked.push({ hostname, options });
    return answers(...addresses);
  };
  return { resolve, asked };
}

/** Calls a lookup the way net.connect does and reports what its callback got. */
function callLookup(lookup: ReturnType<typeof publicOnlyLookup>, hostname: string, options: LookupOptions) {
  return new Promise<{ err: (Error & { code?: string }) | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
    lookup(hostname, options, (err, address, family) => resolve({ err, address, family })),
  );
}

/** A loopback service that counts TCP connections (an HTTP one answers 200 too). */
let tcp: Server;
let http: ReturnType<typeof createHttpServer>;
let tcpHits = 0;
let httpHits = 0;
beforeAll(async () => {
  tcp = createServer((s) => {
    tcpHits++;
    s.destroy();
  });
  http = createHttpServer((_req, res) => {
    httpHits++;
    res.end('reached');
  });
  await Promise.all([new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r)), new Promise<void>((r) => http.listen(0, '127.0.0.1', r))]);
});
afterAll(async () => {
  await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => http.close(r))]);
});
const tcpPort = () => (tcp.address() as AddressInfo).port;
const httpPort = () => (http.address() as AddressInfo).port;

describe('publicOnlyLookup', () => {
  it('answers in both of node\'s callback forms with exactly the addresses it checked', async () => {
    const dns = fixedResolver('93.184.216.34', '2606:4700:4700::1111');
    const lookup = publicOnlyLookup({ field: 'baseUrl', resolve: dns.resolve });
    expect(await callLookup(lookup, 'api.example.com', { all: true })).toEqual({ err: null, address: answers('93.184.216.34', '2606:4700:4700::1111'), family: undefined });
    expect(await callLookup(lookup, 'api.example.com', {})).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    // The family and hints node asks for reach the resolver.
    await callLookup(lookup, 'api.example.com', { family: 6, hints: 1024 });
    expect(dns.asked.at(-1)).toEqual({ hostname: 'api.example.com', options: { all: true, family: 6, hints: 1024 } });
  });

  it.each([
    ['loopback', ['127.0.0.1']],
    ['metadata', ['169.254.169.254']],
    ['one private address among public ones', ['93.184.216.34', '10.0.0.5']],
    ['IPv6 loopback', ['::1']],
    ['NAT64 of the metadata address', ['64:ff9b::a9fe:a9fe']],
  ])('refuses %s in both callback forms, without naming the address', async (_what, addresses) => {
    const lookup = publicOnlyLookup({ field: 'baseUrl', resolve: fixedResolver(...addresses).resolve });
    for (const options of [{ all: true }, {}] as LookupOptions[]) {
      const { err } = await callLookup(lookup, 'rebind.example.com', options);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
      expect(err!.message).toMatch(/^baseUrl: must be a public address/);
      for (const a of addresses) expect(err!.message).not.toContain(a);
    }
  });

  it('passes private answers when the operator allows them', async () => {
    const lookup = publicOnlyLookup({ field: 'baseUrl', allowPrivate: true, resolve: fixedResolver('127.0.0.1').resolve });
    expect(await callLookup(lookup, 'dev.local', {})).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('keeps resolution failures as they are (a network error, not a refusal)', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND gone.example.com'), { code: 'ENOTFOUND' });
    const failing = publicOnlyLookup({ field: 'baseUrl', resolve: async () => Promise.reject(notFound) });
    expect((await callLookup(failing, 'gone.example.com', { all: true })).err).toBe(notFound);
    const empty = publicOnlyLookup({ field: 'baseUrl', resolve: async () => [] });
    expect((await callLookup(empty, 'empty.example.com', { all: true })).err).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('is what a real socket connects with, in both of node\'s address-selection modes', async () => {
    for (const autoSelectFamily of [true, false]) {
      const before = tcpHits;
      const refused = await new Promise<Error | null>((resolve) => {
        const s = connect({ host: 'internal.rebind.test', port: tcpPort(), autoSelectFamily, lookup: publicOnlyLookup({ field: 'baseUrl', resolve: fixedResolver('127.0.0.1').resolve }) });
        s.once('error', resolve).once('close', () => resolve(null));
      });
      expect(refused).toBeInstanceOf(AppError);
      expect(tcpHits - before, `autoSelectFamily ${autoSelectFamily}`).toBe(0);
      // Allowed, the socket goes to the address this lookup answered (real DNS knows no *.test name).
      await new Promise<void>((resolve, reject) => {
        const s = connect({ host: 'internal.rebind.test', port: tcpPort(), autoSelectFamily, lookup: publicOnlyLookup({ field: 'baseUrl', allowPrivate: true, resolve: fixedResolver('127.0.0.1').resolve }) });
        s.once('close', () => resolve()).once('error', reject);
      });
      expect(tcpHits - before).toBe(1);
    }
  });

  it('is never called for an IP literal (so the dispatcher judges literals itself)', async () => {
    let called = 0;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: tcpPort(), lookup: (...args) => { called++; return publicOnlyLookup({ field: 'baseUrl' })(...args); } });
      s.once('close', () => resolve()).once('error', reject);
    });
    expect(called).toBe(0);
  });
});

describe('createPublicOnlyDispatcher', () => {
  const send = (url: string, dispatcher: ReturnType<typeof createPublicOnlyDispatcher>) => request(url, { dispatcher }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));

  it('refuses a host name that resolves to a non-public address, before connecting', async () => {
    const before = tcpHits;
    for (const addresses of [['127.0.0.1'], ['93.184.216.34', '127.0.0.1']]) {
      const dispatcher = createPublicOnlyDispatcher({ field: 'baseUrl', resolve: fixedResolver(...addresses).resolve });
      await expect(send(`https://internal.rebind.test:${tcpPort()}/`, dispatcher)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
    }
    expect(tcpHits - before).toBe(0);
  });

  it.each(['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]'])('refuses the IP literal %s, before connecting', async (host) => {
    const before = tcpHits;
    const dispatcher = createPublicOnlyDispatcher({ field: 'baseUrl' });
    await expect(send(`https://${host}:${tcpPort()}/`, dispatcher)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
    expect(tcpHits - before).toBe(0);
  });

  it('with private addresses allowed, reaches literals and names alike, at the address it resolved', async () => {
    const before = httpHits;
    const dispatcher = createPublicOnlyDispatcher({ field: 'baseUrl', allowPrivate: true, resolve: fixedResolver('127.0.0.1').resolve });
    expect(await send(`http://127.0.0.1:${httpPort()}/`, dispatcher)).toEqual({ status: 200, body: 'reached' });
    expect(await send(`http://dev.rebind.test:${httpPort()}/`, dispatcher)).toEqual({ status: 200, body: 'reached' });
    expect(httpHits - before).toBe(2);
  });
});
