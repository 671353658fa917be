/**
 * The official `@anthropic-ai/sdk` (v1) against the sandbox, pointed at it through its documented
 * `baseURL` option (no shim). Exercises messages.create, the cursor-paginated model list (forward
 * and backward), the `anthropic-version` and credentials it sends, its error classes, the
 * `anthropic-ratelimit-*` headers and its own retry honouring `retry-after`.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from '../index.js';

let s: Sandbox;
const apiKey = `sk-ant-api03-${crypto.randomUUID().replaceAll('-', '')}`;
const client = (opts: Partial<NonNullable<ConstructorParameters<typeof Anthropic>[0]>> = {}) => new Anthropic({ apiKey, baseURL: s.baseUrlFor('anthropic'), ...opts });
const seen = () => s.requests().filter((r) => r.provider === 'anthropic');

beforeAll(async () => {
  s = await createSandbox();
  s.seed('anthropic', { apiKey });
});
beforeEach(() => s.limits.reset());
afterAll(() => s.close());

describe('@anthropic-ai/sdk (official client) against the sandbox', () => {
  it('messages.create: a message; the client sends its own anthropic-version and the key', async () => {
    const { data, response, request_id } = await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn' });
    expect(data.content[0]).toMatchObject({ type: 'text' });
    expect(request_id).toMatch(/^req_/);
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('50');
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('49');
    expect(Date.parse(response.headers.get('anthropic-ratelimit-requests-reset')!)).toBeGreaterThan(Date.now());
    const sent = seen().at(-1)!.headers;
    // This client version pins the API version it speaks and sends the key as a Bearer token.
    expect(sent['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(sent.authorization ?? sent['x-api-key']).toContain(apiKey);
    expect(sent['user-agent']).toMatch(/^Anthropic\/JS /);
  });

  it('models.list: follows the cursor (after_id) across pages, and back (before_id)', async () => {
    const ids: string[] = [];
    for await (const m of client().models.list({ limit: 2 })) ids.push(m.id);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    const queries = seen().filter((r) => r.path === '/v1/models').slice(-3).map((r) => new URLSearchParams(r.query).get('after_id'));
    expect(queries).toEqual([null, ids[1], ids[3]]);
    const last = await client().models.list({ limit: 2, before_id: ids[4]! });
    expect(last.data.map((m) => m.id)).toEqual([ids[2], ids[3]]);
    expect(last.hasNextPage()).toBe(true);
    const back = await last.getNextPage();
    expect(back.data.map((m) => m.id)).toEqual([ids[0], ids[1]]);
    expect(back.hasNextPage()).toBe(false);
  });

  it('a wrong key is AuthenticationError (401 authentication_error); a bad request is BadRequestError', async () => {
    const err = await client({ apiKey: 'sk-ant-api03-wrong' }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err).toMatchObject({ status: 401, error: { type: 'error', error: { type: 'authentication_error' } } });
    const bad = await client().models.list({ limit: 5000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('over the limit: RateLimitError (429) with retry-after and the ratelimit headers when retries are off', async () => {
    s.limits.configure('anthropic', { windows: [{ name: 'minute', limit: 1, windowMs: 60_000 }] });
    const c = client({ maxRetries: 0 });
    await c.models.list();
    const err = await c.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
    const headers = (err as InstanceType<typeof Anthropic.RateLimitError>).headers;
    expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
    expect(headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
  });

  it("the client's retry waits as long as retry-after says, then succeeds", async () => {
    s.limits.configure('anthropic', { windows: [{ name: 'minute', limit: 1, windowMs: 2000 }] });
    const c = client({ maxRetries: 2 });
    await c.models.list();
    const started = Date.now();
    const before = seen().length;
    const page = await c.models.list();
    expect(page.data.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(seen().slice(before).map((r) => r.status)).toEqual([429, 200]);
  });
});
