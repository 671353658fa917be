import { describe, expect, it } from 'vitest';
import { assertPublicHttpsUrl } from './ssrf.js';

const check = (url: string, resolveTo?: string[]) =>
  assertPublicHttpsUrl(url, { field: 'additionalConfig.baseUrl', ...(resolveTo ? { resolve: (async () => resolveTo.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))) as never } : {}) });

const PUBLIC = 'must be a public address';

describe('SSRF guard for tenant-supplied URLs', () => {
  it.each([
    ['http://127.0.0.1', 'must use https'],
    ['https://127.0.0.1', PUBLIC],
    ['https://169.254.169.254/latest/meta-data', PUBLIC],
    ['https://10.0.0.1', PUBLIC],
    ['https://192.168.1.10', PUBLIC],
    ['https://0x7f.1', PUBLIC],
    ['https://[::1]', PUBLIC],
    ['https://[::]', PUBLIC],
    ['https://[fe80::1]', PUBLIC],
    ['https://[fd00::1]', PUBLIC],
    ['https://[ff02::1]', PUBLIC],
    ['https://[2001:db8::1]', PUBLIC],
    ['https://localhost:8443', PUBLIC],
    ['https://user:pass@api.example.com', 'must not contain credentials'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', async (url, why) => {
    await expect(check(url)).rejects.toThrow(`additionalConfig.baseUrl: ${why}`);
  });

  // IPv6 forms that carry an IPv4 address: each is judged by the IPv4 address inside it.
  it.each([
    ['IPv4-mapped', 'https://[::ffff:127.0.0.1]'],
    ['IPv4-mapped, hex', 'https://[::ffff:a9fe:a9fe]'],
    ['IPv4-compatible', 'https://[::127.0.0.1]'],
    ['IPv4-compatible, metadata', 'https://[::169.254.169.254]'],
    ['IPv4-translated (RFC 6145)', 'https://[::ffff:0:7f00:1]'],
    ['NAT64 well-known prefix', 'https://[64:ff9b::7f00:1]'],
    ['NAT64 well-known prefix, dotted', 'https://[64:ff9b::10.0.0.1]'],
    ['NAT64 local-use prefix, /96 layout', 'https://[64:ff9b:1::a9fe:a9fe]'],
    ['NAT64 local-use prefix, /48 layout', 'https://[64:ff9b:1:c0a8:1:100:5db8:d822]'],
    ['6to4', 'https://[2002:7f00:1::]'],
    ['6to4 of a private address', 'https://[2002:a00:1::1]'],
    ['Teredo, client 127.0.0.1', 'https://[2001:0:5db8:d822:0:0:80ff:fffe]'],
    ['Teredo, server 10.0.0.1', 'https://[2001:0:a00:1:0:0:a247:2bdd]'],
  ])('refuses %s (%s)', async (_form, url) => {
    await expect(check(url)).rejects.toThrow(`additionalConfig.baseUrl: ${PUBLIC}`);
  });

  it('refuses a hostname that resolves to a private address in any of those forms', async () => {
    await expect(check('https://sneaky.example.com', ['127.0.0.1'])).rejects.toThrow(PUBLIC);
    await expect(check('https://mixed.example.com', ['93.184.216.34', '10.1.2.3'])).rejects.toThrow(PUBLIC);
    await expect(check('https://nat64.example.com', ['64:ff9b::a9fe:a9fe'])).rejects.toThrow(PUBLIC);
    await expect(check('https://sixtofour.example.com', ['2002:c0a8:101::1'])).rejects.toThrow(PUBLIC);
  });

  // An IPv6-only network reaches public IPv4 services through these forms (DNS64 answers with
  // 64:ff9b::/96 addresses), so a public IPv4 inside them is as acceptable as the IPv4 itself.
  it.each([
    ['IPv4-mapped public IPv4', 'https://[::ffff:93.184.216.34]'],
    ['IPv4-compatible public IPv4', 'https://[::93.184.216.34]'],
    ['NAT64 of a public IPv4', 'https://[64:ff9b::5db8:d822]'],
    ['6to4 of a public IPv4', 'https://[2002:5db8:d822::1]'],
    ['Teredo with public server and client', 'https://[2001:0:4136:e378:8000:63bf:a247:27dd]'],
    ['a global unicast IPv6', 'https://[2606:4700:4700::1111]'],
  ])('accepts %s (%s)', async (_form, url) => {
    await expect(check(url)).resolves.toBeInstanceOf(URL);
  });

  it('accepts a public https URL, and private ones only when the operator allows them', async () => {
    await expect(check('https://api.example.com/v1', ['93.184.216.34'])).resolves.toBeInstanceOf(URL);
    await expect(check('https://v6.example.com/v1', ['2606:4700:4700::1111', '64:ff9b::5db8:d822'])).resolves.toBeInstanceOf(URL);
    await expect(assertPublicHttpsUrl('http://127.0.0.1:8080', { field: 'x', allowPrivate: true })).resolves.toBeInstanceOf(URL);
  });
});
