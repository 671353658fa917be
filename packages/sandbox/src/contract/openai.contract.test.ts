/**
 * The official `openai` client (v6) against the sandbox, pointed at it through its documented
 * `baseURL` option (no shim). Exercises what an app does: chat completions, the model list
 * (one page, iterated the client's way), the error classes for 401 and 429, the
 * `x-ratelimit-*` headers, and the client's own retry honouring `retry-after`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let s: Sandbox;
const apiKey = `sk-proj-${crypto.randomUUID().replaceAll('-', '')}`;
const client = (opts: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) => new OpenAI({ apiKey, baseURL: `${s.baseUrlFor('openai')}/v1`, ...opts });
const seen = () => s.requests().filter((r) => r.provider === 'openai');

beforeAll(async () => {
  s = await createSandbox();
  s.seed('openai', { apiKey });
});
beforeEach(() => s.limits.reset());
afterAll(() => s.close());

describe('openai (official client) against the sandbox', () => {
  it('chat.completions.create: a completion, with the rate-limit headers and request id', async () => {
    const { data, response, request_id } = await client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: expect.any(String) });
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(request_id).toMatch(/^req_/);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('500');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('499');
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+m)?[\d.]+m?s$/);
    const sent = seen().at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent.headers['user-agent']).toMatch(/^OpenAI\/JS /);
  });

  it('models.list: iterates every model (one page: OpenAI does not paginate this list)', async () => {
    const ids: string[] = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o');
    expect(ids.length).toBeGreaterThan(1);
    const page = await client().models.list();
    expect(page.hasNextPage()).toBe(false);
  });

  it('a wrong key is AuthenticationError (401, invalid_api_key), not retried', async () => {
    const before = seen().length;
    const err = await client({ apiKey: 'sk-proj-wrong' }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    expect(seen().length - before).toBe(1);
  });

  it('over the limit: RateLimitError (429) with retry-after and x-ratelimit-* when retries are off', async () => {
    s.limits.configure('openai', { windows: [{ name: 'minute', limit: 1, windowMs: 60_000 }] });
    const c = client({ maxRetries: 0 });
    await c.models.list();
    const err = await c.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    const headers = (err as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
    expect(headers.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it("the client's retry waits as long as retry-after says, then succeeds", async () => {
    s.limits.configure('openai', { windows: [{ name: 'minute', limit: 1, windowMs: 2000 }] });
    const c = client({ maxRetries: 2 });
    await c.models.list();
    const started = Date.now();
    const before = seen().length;
    const page = await c.models.list();
    expect(page.data.length).toBeGreaterThan(0);
    // Its default backoff is about 0.5 s; 2 s means it obeyed the header.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    const attempts = seen().slice(before);
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(attempts[1]!.headers['x-stainless-retry-count']).toBe('1');
  });
});
