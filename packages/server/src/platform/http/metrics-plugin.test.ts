import Fastify from 'fastify';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MetricsAccess } from '../config.js';
import { Secret } from '../crypto/secret.js';
import { installErrorHandling } from './error-handler.js';
import { metricsPlugin } from './metrics-plugin.js';

const TOKEN = 'operator-metrics-token-0123456789abcdef';

async function serve(access: MetricsAccess, opts: { trustProxy?: boolean } = {}) {
  const registry = new Registry();
  new Counter({ name: 'keyhold_test_total', help: 'a counter', registers: [registry] }).inc();
  const app = Fastify({ logger: false, trustProxy: opts.trustProxy ?? false });
  installErrorHandling(app);
  await app.register(metricsPlugin, { registry, access });
  await app.ready();
  const scrape = (opts: { from?: string; token?: string } = {}) =>
    app.inject({ method: 'GET', url: '/metrics', remoteAddress: opts.from ?? '127.0.0.1', ...(opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {}) });
  return { app, scrape };
}

describe('/metrics', () => {
  it('token: only the operator token opens it, from anywhere', async () => {
    const { app, scrape } = await serve({ mode: 'token', token: new Secret(TOKEN) });
    const ok = await scrape({ from: '203.0.113.9', token: TOKEN });
    expect([ok.statusCode, ok.body.includes('keyhold_test_total 1')]).toEqual([200, true]);
    for (const attempt of [{}, { token: `${TOKEN.slice(0, -1)}x` }, { token: 'short' }, { token: `${TOKEN}${TOKEN}` }]) {
      const res = await scrape({ from: '127.0.0.1', ...attempt });
      expect([res.statusCode, res.json().code, res.headers['www-authenticate']]).toEqual([401, 'UNAUTHENTICATED', 'Bearer realm="keyhold-metrics"']);
      expect(res.body).not.toContain('keyhold_test_total');
    }
    await app.close();
  });

  it('loopback (the development default): this machine only, no token', async () => {
    const { app, scrape } = await serve({ mode: 'loopback' });
    for (const from of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect((await scrape({ from })).statusCode, from).toBe(200);
    for (const from of ['203.0.113.9', '10.0.0.5', '::ffff:10.0.0.5']) {
      const res = await scrape({ from });
      expect([res.statusCode, res.json().code], from).toEqual([403, 'FORBIDDEN']);
    }
    await app.close();
  });

  it('loopback trusts the socket, not a forwarded-for header (even behind a trusted proxy)', async () => {
    const { app } = await serve({ mode: 'loopback' }, { trustProxy: true });
    const res = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9', headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect([res.statusCode, res.json().code]).toEqual([403, 'FORBIDDEN']);
    await app.close();
  });

  it('open: anyone, only when the operator says so', async () => {
    const { app, scrape } = await serve({ mode: 'open' });
    expect((await scrape({ from: '203.0.113.9' })).statusCode).toBe(200);
    await app.close();
  });

  it('off (the production default without a token): not served at all', async () => {
    const { app, scrape } = await serve({ mode: 'off' });
    expect((await scrape()).statusCode).toBe(404);
    expect((await scrape({ token: TOKEN })).statusCode).toBe(404);
    await app.close();
  });
});
