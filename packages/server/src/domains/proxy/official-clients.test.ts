import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { oauthHarness } from '../../test-support/oauth.js';

/**
 * The providers' official clients pointed at Keyhold's proxy (`/api/proxy/<provider>`) with a
 * Keyhold API key as their "API key": Keyhold takes its own key off, injects the tenant's, keeps
 * the client's other headers (User-Agent, API version) and hands back the provider's answer, so
 * the client's parsing, pagination and error classes work unchanged.
 */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let baseUrl: string;
let keyholdKey: string;
const tenantKeys: Record<string, string> = {};
beforeAll(async () => {
  h = await oauthHarness();
  baseUrl = await h.t.app.listen({ host: '127.0.0.1', port: 0 });
  const acct = await signup(h.t.app);
  for (const p of ['openai', 'anthropic', 'resend']) {
    const { body, seed } = credentialsFor(p);
    h.sandbox.seed(p, seed);
    tenantKeys[p] = seed.apiKey!;
    const res = await h.t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(acct.accessToken), payload: { serviceName: p, ...body } });
    expect(res.statusCode, res.body).toBe(201);
  }
  keyholdKey = (await createApiKey(h.t.app, h.t.clock, acct, { name: 'clients', scopes: ['proxy'] })).key;
});
afterAll(() => h.close());

const seen = (provider: string) => h.sandbox.requests().filter((r) => r.provider === provider);

describe('official clients through the proxy', () => {
  it('openai: chat completion and model list; the provider sees the tenant key and the client’s User-Agent', async () => {
    const openai = new OpenAI({ apiKey: keyholdKey, baseURL: `${baseUrl}/api/proxy/openai/v1`, maxRetries: 0 });
    const chat = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0]?.message.role).toBe('assistant');
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o');
    const sent = seen('openai').at(-1)!.headers;
    expect(sent.authorization).toBe(`Bearer ${tenantKeys.openai}`);
    expect(JSON.stringify(seen('openai').map((r) => r.headers))).not.toContain(keyholdKey);
    expect(sent['user-agent']).toMatch(/^OpenAI\/JS /);
  });

  it('anthropic: message and cursor-paginated models; the client’s anthropic-version wins over the catalog default', async () => {
    const anthropic = new Anthropic({ apiKey: keyholdKey, baseURL: `${baseUrl}/api/proxy/anthropic`, maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.type).toBe('message');
    const ids: string[] = [];
    for await (const m of anthropic.models.list({ limit: 2 })) ids.push(m.id);
    expect(ids).toHaveLength(5);
    const pages = seen('anthropic').filter((r) => r.path === '/v1/models').slice(-3);
    expect(pages.map((r) => new URLSearchParams(r.query).get('after_id'))).toEqual([null, ids[1], ids[3]]);
    const sent = pages.at(-1)!.headers;
    expect(sent['x-api-key']).toBe(tenantKeys.anthropic);
    expect(sent.authorization).toBeUndefined();
    expect(sent['anthropic-version']).not.toBe('2023-06-01');
    expect(sent['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('resend: sends and lists domains; its User-Agent reaches Resend', async () => {
    const resend = new Resend(keyholdKey, { baseUrl: `${baseUrl}/api/proxy/resend` });
    // Resend allows a few requests a second and its client never retries: let Keyhold wait for a slot.
    const wait = { headers: { 'x-keyhold-max-wait': '5000' } };
    const sent = await resend.emails.send({ from: 'billing@acme.example', to: 'buyer@example.com', subject: 'Invoice', text: 'Thanks' }, wait);
    expect(sent.error, JSON.stringify(sent.error)).toBeNull();
    expect(sent.data?.id).toBeTruthy();
    const domains = await resend.domains.list({}, wait);
    expect(domains.error).toBeNull();
    const last = seen('resend').at(-1)!.headers;
    expect(last.authorization).toBe(`Bearer ${tenantKeys.resend}`);
    expect(last['user-agent']).toMatch(/^resend-node:/);
  });

  it("a provider's refusal reaches the client as its own error class; Keyhold's refusal is marked", async () => {
    const openai = new OpenAI({ apiKey: 'kh_not-a-key', baseURL: `${baseUrl}/api/proxy/openai/v1`, maxRetries: 0 });
    const err = await openai.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).headers.get('x-keyhold-error')).toBeTruthy();
    // A Keyhold refusal never reached the provider.
    expect(seen('openai').some((r) => JSON.stringify(r.headers).includes('kh_not-a-key'))).toBe(false);
  });
});
