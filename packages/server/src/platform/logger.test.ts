import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../test-support/index.js';
import { createLogger } from './logger.js';
import { redactUrlSecrets, scrubSecrets } from './secrets.js';

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
    // `credentials` is redacted as a whole, so its two secrets count once.
    expect(text().match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(9);
  });

  it('strips credential-bearing query parameters from logged URLs', () => {
    const canary = 'code-canary-5f1d';
    expect(redactUrlSecrets(`/api/integrations/xero/callback?code=${canary}&state=s1&scope=a`)).toBe(
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
    expect(scrubSecrets({ mfa: true, 'x-mfa-code': '123456', next: 'https://app.example/cb?code=canary-audit&scope=a' })).toEqual({
      mfa: true,
      'x-mfa-code': '[REDACTED]',
      next: 'https://app.example/cb?code=%5BREDACTED%5D&scope=a',
    });
  });
});

describe('logging never throws and never writes raw bytes', () => {
  it('logs binary, huge, cyclic and exotic values as bounded plain JSON, redacting secrets at any depth', () => {
    const canary = `canary-${crypto.randomUUID()}`;
    const { log, lines } = captureLogger('trace');
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const throwing = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('getter'); } });
    const clientError = Object.assign(new Error('Parse Error: Invalid URL'), { code: 'HPE_INVALID_URL', rawPacket: Buffer.from(`GET /nope/\xe9${canary}`, 'latin1') });
    log.trace({ err: clientError }, 'client error');
    log.info({ a: { b: { c: { body: Buffer.from(canary) } } }, arr: new Uint8Array(8), big: 'x'.repeat(100_000) }, 'binary and huge');
    log.info({ cyclic, throwing, url: new URL(`https://x.example/cb?code=${canary}`), when: new Date(0), map: new Map([['k', 1]]) }, 'exotic');
    log.info({ l1: { l2: { l3: { l4: { l5: { password: canary, apiKey: canary } } } } } }, 'deep secrets');
    log.info(Object.assign(new Error('plain'), { rawPacket: Buffer.from(canary) }));
    expect(lines).toHaveLength(5);
    const text = lines.join('\n');
    expect(text).not.toContain(canary);
    expect(text).not.toContain('rawPacket');
    expect(text).toContain('HPE_INVALID_URL');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(20_000);
    const binary = JSON.parse(lines[1]!);
    expect(binary.a.b.c.body).toBe(`[binary ${canary.length} bytes]`);
    expect(binary.arr).toBe('[binary 8 bytes]');
    const exotic = JSON.parse(lines[2]!);
    expect(exotic).toMatchObject({ cyclic: { name: 'loop', self: '[Circular]' }, throwing: { boom: '[unloggable]' }, when: '1970-01-01T00:00:00.000Z' });
    expect(exotic.url).toBe('https://x.example/cb?code=%5BREDACTED%5D');
  });

  it('a logger whose output fails drops the line instead of throwing', () => {
    const broken = new Writable({ write: () => { throw new Error('EPIPE'); } });
    const log = createLogger({ level: 'trace', destination: broken });
    expect(() => log.info({ x: 1 }, 'lost')).not.toThrow();
    expect(() => log.child({ reqId: 'r1' }).error(new Error('lost too'))).not.toThrow();
  });
});
