import { describe, expect, it } from 'vitest';
import { captureLogger } from '../test-support/index.js';
import { redactUrl, scrubSecrets } from './secrets.js';

describe('log redaction', () => {
  it('never writes secret-looking fields, at any of the first four levels', () => {
    const canary = `canary-${crypto.randomUUID()}`;
    const { log, text } = captureLogger();
    log.info({ password: canary, apiKey: canary, user: { email: 'a@b.c', token: canary } }, 'one');
    log.info({ upstream: { headers: { authorization: `Bearer ${canary}`, cookie: `sid=${canary}`, 'x-api-key': canary } } }, 'two');
    log.info({ req: { method: 'GET', url: '/x', headers: { authorization: `Bearer ${canary}` } } }, 'request headers are never serialized');
    log.info({ a: { b: { c: { client_secret: canary, refreshToken: canary } } } }, 'three');
    log.info({ provider: { credentials: { access_token: canary, api_secret: canary } } }, 'four');
    expect(text()).not.toContain(canary);
    expect(text()).toContain('a@b.c');
    expect(text().match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(10);
  });

  it('strips credential-bearing query parameters from logged URLs', () => {
    const canary = 'code-canary-5f1d';
    expect(redactUrl(`/api/integrations/xero/callback?code=${canary}&state=s1&scope=a`)).toBe(
      '/api/integrations/xero/callback?code=%5BREDACTED%5D&state=%5BREDACTED%5D&scope=a',
    );
    const { log, text } = captureLogger();
    log.info({ req: { method: 'GET', url: `/cb?code=${canary}&shop=x.myshopify.com` } }, 'incoming request');
    expect(text()).not.toContain(canary);
    expect(text()).toContain('x.myshopify.com');
  });

  it('scrubSecrets replaces secret-named fields in nested data and keeps the rest', () => {
    expect(scrubSecrets({ serviceName: 'xero', apiSecret: 's', list: [{ password: 'p', name: 'n' }] })).toEqual({
      serviceName: 'xero',
      apiSecret: '[REDACTED]',
      list: [{ password: '[REDACTED]', name: 'n' }],
    });
  });
});
