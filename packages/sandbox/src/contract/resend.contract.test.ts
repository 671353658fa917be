/**
 * The official `resend` client (v6) against the sandbox, pointed at it through its documented
 * `baseUrl` option (it also reads `RESEND_BASE_URL`; no shim). Exercises emails.send and
 * domains.list with a full-access and a sending-access key, the error objects the client returns
 * (it never throws for an API error), its User-Agent, and the rate-limit headers it hands back.
 */
import { Resend } from 'resend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let s: Sandbox;
const key = () => `re_${crypto.randomUUID().replaceAll('-', '')}`;
const fullKey = key();
const sendingKey = key();
const client = (apiKey: string) => new Resend(apiKey, { baseUrl: s.baseUrlFor('resend') });
const email = { from: 'Acme <billing@acme.example>', to: ['buyer@example.com'], subject: 'Your invoice', html: '<p>Thanks</p>' };
const seen = () => s.requests().filter((r) => r.provider === 'resend');

beforeAll(async () => {
  s = await createSandbox();
  s.seed('resend', { apiKey: fullKey, permission: 'full_access' });
  s.seed('resend', { apiKey: sendingKey, permission: 'sending_access' });
});
beforeEach(() => s.limits.reset());
afterAll(() => s.close());

describe('resend (official client) against the sandbox', () => {
  it('emails.send with a full-access key: an id; the client names itself in User-Agent', async () => {
    const sent = await client(fullKey).emails.send(email);
    expect(sent.error).toBeNull();
    expect(sent.data?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.headers?.['ratelimit-limit']).toBe('5');
    expect(sent.headers?.['ratelimit-remaining']).toBe('4');
    const req = seen().at(-1)!;
    expect(req.headers['user-agent']).toMatch(/^resend-node:\d+\.\d+\.\d+$/);
    expect(req.headers.authorization).toBe(`Bearer ${fullKey}`);
  });

  it('domains.list: the full-access key lists domains; the sending-access key gets restricted_api_key (401)', async () => {
    const full = await client(fullKey).domains.list();
    expect(full.error).toBeNull();
    expect(full.data).toMatchObject({ object: 'list', has_more: false });
    expect(full.data?.data[0]).toMatchObject({ name: 'acme.example', status: 'verified' });
    const restricted = await client(sendingKey).domains.list();
    expect(restricted.data).toBeNull();
    expect(restricted.error).toMatchObject({ statusCode: 401, name: 'restricted_api_key', message: 'This API key is restricted to only send emails.' });
  });

  it('the sending-access key sends', async () => {
    const sent = await client(sendingKey).emails.send(email);
    expect(sent.error).toBeNull();
    expect(sent.data?.id).toBeTruthy();
  });

  it('an unknown key: 401 validation_error when sending, 400 on other endpoints; a missing field: 422', async () => {
    const bad = client(key());
    expect((await bad.emails.send(email)).error).toMatchObject({ statusCode: 401, name: 'validation_error' });
    expect((await bad.domains.list()).error).toMatchObject({ statusCode: 400, name: 'validation_error' });
    const missing = await client(fullKey).emails.send({ ...email, subject: '' });
    expect(missing.error).toMatchObject({ statusCode: 422, name: 'missing_required_field' });
  });

  it('over the limit: 429 rate_limit_exceeded with retry-after and ratelimit-* headers (the client does not retry)', async () => {
    const c = client(fullKey);
    const results = await Promise.all(Array.from({ length: 6 }, () => c.domains.list()));
    const limited = results.find((r) => r.error);
    expect(limited?.error).toMatchObject({ statusCode: 429, name: 'rate_limit_exceeded' });
    expect(Number(limited?.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(limited?.headers?.['ratelimit-remaining']).toBe('0');
    expect(seen().slice(-6).filter((r) => r.status === 429)).toHaveLength(1);
  });
});
