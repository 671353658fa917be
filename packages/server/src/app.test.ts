import { ErrorEnvelopeSchema } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { buildApp } from './app.js';
import { createDb } from './platform/db/database.js';
import { readMigrations } from './platform/db/migrate.js';
import { Secret } from './platform/crypto/secret.js';
import { AppError } from './platform/errors.js';
import { captureLogger, freePort, silentLogger, testDb, testServices } from './test-support/index.js';

const db = testDb();
const logs = captureLogger();
let app: FastifyInstance;
let expectedMigrations: string[];

async function appWith(overrides: Partial<Parameters<typeof buildApp>[0]> = {}) {
  return buildApp({ logger: logs.log, trustProxy: false, version: '9.9.9', startedAt: new Date(), expectedMigrations, db, services: testServices(db), metricsAccess: { mode: 'loopback' }, ...overrides });
}

beforeAll(async () => {
  expectedMigrations = (await readMigrations()).map((m) => m.name);
  app = await appWith();
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/test/app-error', { schema: { hide: true } }, async () => {
    throw new AppError('INTEGRATION_NEEDS_REAUTH', 'Your Xero connection needs to be reconnected.', {
      actions: [{ label: 'Reconnect Xero', url: '/admin/integrations?reconnect=xero' }],
    });
  });
  r.get('/test/rate-limited', { schema: { hide: true } }, async () => {
    throw new AppError('RATE_LIMITED', 'Too many attempts', { headers: { 'retry-after': '30' } });
  });
  r.get('/test/crash', { schema: { hide: true } }, async () => {
    const e = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2-internal');
    throw e;
  });
  r.get('/test/service-validation', { schema: { hide: true } }, async () => {
    z.object({ slug: z.string().regex(/^[a-z]+$/, 'lowercase letters only') }).parse({ slug: 'No Good' });
  });
  r.post('/test/echo', { schema: { hide: true, body: z.object({ email: z.string().email(), age: z.number().int() }) } }, async (req) => ({
    success: true,
    data: req.body,
  }));
});
afterAll(async () => {
  await app.close();
  await db.close();
});

describe('JSON envelope and errors', () => {
  it('an AppError becomes the documented envelope with its code, actions and request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/test/app-error' });
    expect(res.statusCode).toBe(409);
    const body = res.json();
    expect(body).toEqual({
      success: false,
      error: 'Your Xero connection needs to be reconnected.',
      code: 'INTEGRATION_NEEDS_REAUTH',
      actions: [{ label: 'Reconnect Xero', url: '/admin/integrations?reconnect=xero' }],
      requestId: res.headers['x-request-id'],
    });
    expect(ErrorEnvelopeSchema.safeParse(body).success).toBe(true);
  });

  it('an AppError can carry response headers such as Retry-After', async () => {
    const res = await app.inject({ method: 'GET', url: '/test/rate-limited' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.json().code).toBe('RATE_LIMITED');
  });

  it('an unknown error is a 500 without internals, but logged with the request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/test/crash' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['code', 'error', 'requestId', 'success']);
    expect(body.code).toBe('INTERNAL_ERROR');
    expect(body.error).toContain(body.requestId);
    expect(res.body).not.toMatch(/ECONNREFUSED|hunter2|stack|\.ts:\d+/);
    const logged = logs.lines.map((l) => JSON.parse(l)).find((l) => l.reqId === body.requestId && l.msg === 'unhandled error');
    expect(logged?.err?.message).toContain('ECONNREFUSED');
  });

  it('bad input is a 400 naming each offending field', async () => {
    const res = await app.inject({ method: 'POST', url: '/test/echo', payload: { email: 'not-an-email', age: 1.5 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.error).toContain('body.email');
    expect(body.error).toContain('body.age');
  });

  it("a service's own validation failure is a 400 naming the field", async () => {
    const res = await app.inject({ method: 'GET', url: '/test/service-validation' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', error: 'slug: lowercase letters only' });
  });

  it('malformed JSON is a 400 INVALID_JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_JSON');
  });

  it('an unknown route is a 404 envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/nope?token=abc' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ success: false, code: 'NOT_FOUND', error: 'No route for GET /api/nope' });
  });
});

describe('request ids', () => {
  it('keeps a well-formed incoming X-Request-Id and replaces anything else', async () => {
    const kept = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-1234abcd' } });
    expect(kept.headers['x-request-id']).toBe('trace-1234abcd');
    const replaced = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'evil\nid <script>' } });
    expect(replaced.headers['x-request-id']).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
  });
});

describe('health, readiness and docs', () => {
  it('/health answers without touching the database', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toMatchObject({ success: true, data: { status: 'ok', version: '9.9.9' } });
  });

  it('/ready is ready when the database answers and every migration is applied', async () => {
    const res = await app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      status: 'ready',
      checks: { database: 'ok', migrations: { applied: expectedMigrations.length, expected: expectedMigrations.length, pending: [] } },
    });
  });

  it('/ready is 503 naming pending migrations', async () => {
    const ahead = await appWith({ expectedMigrations: [...expectedMigrations, '9999_from_the_future.sql'] });
    const res = await ahead.inject({ method: 'GET', url: '/ready' });
    await ahead.close();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'NOT_READY', error: 'Migrations pending: 9999_from_the_future.sql' });
  });

  it('/ready is 503 when the database is unreachable', async () => {
    const down = createDb({ url: `postgres://keyhold_app:x@127.0.0.1:${await freePort()}/keyhold`, poolMax: 1, log: silentLogger() });
    const unreachable = await appWith({ db: down });
    const res = await unreachable.inject({ method: 'GET', url: '/ready' });
    await unreachable.close();
    await down.close();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'NOT_READY', error: 'The database is unreachable' });
  });

  it('serves OpenAPI 3.1 at /api/openapi.json and a docs page at /docs', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/health', '/ready']));
    const docs = await app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    const asset = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(asset.statusCode).toBe(200);
  });
});

describe('/metrics', () => {
  it('is served by the platform with the operator token, outside the API and its reference', async () => {
    const token = 'an-operator-metrics-token-of-40-characters';
    const guarded = await appWith({ metricsAccess: { mode: 'token', token: new Secret(token) } });
    try {
      expect((await guarded.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      const res = await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('# HELP keyhold_proxy_requests_total');
      expect(Object.keys((await guarded.inject({ method: 'GET', url: '/api/openapi.json' })).json().paths)).not.toContain('/metrics');
    } finally {
      await guarded.close();
    }
  });
});
