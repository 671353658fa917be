import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import { Secret } from '../../platform/crypto/secret.js';
import { loadCatalog } from '../catalog/catalog.js';
import { createOAuthClient } from './oauth-client.js';

/**
 * A token endpoint's answer is read whole before oauth4webapi sees it, so its size is bounded:
 * declared (content-length) or not (chunked), a bigger one is refused instead of being buffered.
 */
describe('OAuth token answers', () => {
  let server: http.Server;
  let origin = '';
  const big = Buffer.alloc(2 << 20, 'a');
  let chunkedSent = 0;
  let chunkedAtClose: number | undefined;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      const mode = new URL(`http://x${req.url}`).pathname;
      res.setHeader('content-type', 'application/json');
      if (mode === '/chunked/connect/token') {
        // No content-length: 256 KiB chunks up to 64 MiB, unless the client hangs up first.
        chunkedSent = 0;
        const chunk = big.subarray(0, 256 << 10);
        const more = () => {
          if (res.destroyed || chunkedSent >= 64 << 20) return void res.end();
          chunkedSent += chunk.length;
          if (res.write(chunk)) setImmediate(more);
          else res.once('drain', more);
        };
        res.on('close', () => (chunkedAtClose ??= chunkedSent));
        more();
      } else if (mode === '/declared/connect/token') {
        res.setHeader('content-length', String(big.length));
        res.end(big);
      } else res.end(JSON.stringify({ access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 1800 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clientAt = (prefix: string) => {
    const catalog = loadCatalog({ authUrlOverrides: { xero: `${origin}${prefix}` } });
    const providerHttp = { request: (url: string, opts: Parameters<typeof request>[1]) => request(url, opts) } as unknown as ProviderHttp;
    const client = createOAuthClient({ apps: { xero: { clientId: 'client', clientSecret: new Secret('secret') } }, http: providerHttp });
    return () => client.refresh(catalog.get('xero'), {}, 'refresh-token');
  };

  it('a small answer is read', async () => {
    await expect(clientAt('')()).resolves.toMatchObject({ accessToken: 'at', refreshToken: 'rt' });
  });

  it('an answer declaring more than 1 MiB is refused', async () => {
    await expect(clientAt('/declared')()).rejects.toMatchObject({ name: 'TokenRequestError', kind: 'transient' });
  });

  it('a chunked answer is refused once it passes 1 MiB, not buffered whole', async () => {
    // Refused for its size (a transient failure, like a declared one), not read to its end and
    // then refused as a body that is not JSON.
    await expect(clientAt('/chunked')()).rejects.toMatchObject({ name: 'TokenRequestError', kind: 'transient' });
    await expect.poll(() => chunkedAtClose, { timeout: 5_000 }).toBeDefined();
    expect(chunkedAtClose!).toBeLessThan(16 << 20);
  });
});
