import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from '../test-support/index.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/admin/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

/** A stand-in for packages/web/dist: what Vite writes, without building it. */
function fakeBuild() {
  const root = mkdtempSync(join(tmpdir(), 'keyhold-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log("keyhold")');
  return root;
}

describe('the admin console under /admin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ adminUiRoot: fakeBuild() });
  });
  afterAll(() => t.close());

  it('serves the app at /admin and at deep links (the OAuth callback lands on /admin/integrations)', async () => {
    for (const url of ['/admin', '/admin/', '/admin/integrations?xero=configured', '/admin/settings/security', '/admin/connections/0b1c']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('pages carry a CSP that runs only same-origin scripts and cannot be framed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/integrations' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('hashed assets are cached for good; a missing asset is a 404, not the app page', async () => {
    const js = await t.app.inject({ method: 'GET', url: '/admin/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toContain('keyhold');
    const missing = await t.app.inject({ method: 'GET', url: '/admin/assets/index-gone.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).not.toContain('<div id="root">');
  });

  it('a path outside the build is not served (no traversal out of assets/)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/assets/..%2findex.html' });
    expect(res.statusCode).toBe(404);
    const up = await t.app.inject({ method: 'GET', url: '/admin/assets/../../package.json' });
    expect(up.body).not.toContain('"name"');
  });

  it('the API stays JSON: /api paths never answer the app page', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('<div id="root">');
  });
});

describe('without a build', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ adminUiRoot: mkdtempSync(join(tmpdir(), 'keyhold-nobuild-')) });
  });
  afterAll(() => t.close());

  it('the server starts and /admin says to run npm run build (503), the API still answers', async () => {
    for (const url of ['/admin', '/admin/integrations']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('npm run build');
    }
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
