import { describe, expect, it } from 'vitest';
import { assertPublicHttpsUrl } from './ssrf.js';

const check = (url: string, resolveTo?: string[]) =>
  assertPublicHttpsUrl(url, { field: 'additionalConfig.baseUrl', ...(resolveTo ? { resolve: (async () => resolveTo.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))) as never } : {}) });

describe('SSRF guard for tenant-supplied URLs', () => {
  it.each([
    ['http://127.0.0.1', 'must use https'],
    ['https://127.0.0.1', 'must be a public address'],
    ['https://169.254.169.254/latest/meta-data', 'must be a public address'],
    ['https://10.0.0.1', 'must be a public address'],
    ['https://192.168.1.10', 'must be a public address'],
    ['https://[::1]', 'must be a public address'],
    ['https://[::ffff:127.0.0.1]', 'must be a public address'],
    ['https://localhost:8443', 'must be a public address'],
    ['https://user:pass@api.example.com', 'must not contain credentials'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', async (url, why) => {
    await expect(check(url)).rejects.toThrow(`additionalConfig.baseUrl: ${why}`);
  });

  it('refuses a hostname that resolves to loopback or a private address', async () => {
    await expect(check('https://sneaky.example.com', ['127.0.0.1'])).rejects.toThrow('must be a public address');
    await expect(check('https://mixed.example.com', ['93.184.216.34', '10.1.2.3'])).rejects.toThrow('must be a public address');
  });

  it('accepts a public https URL, and private ones only when the operator allows them', async () => {
    await expect(check('https://api.example.com/v1', ['93.184.216.34'])).resolves.toBeInstanceOf(URL);
    await expect(assertPublicHttpsUrl('http://127.0.0.1:8080', { field: 'x', allowPrivate: true })).resolves.toBeInstanceOf(URL);
  });
});
