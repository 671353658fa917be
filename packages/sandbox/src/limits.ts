import type { IncomingMessage } from 'node:http';
import { quotaExceeded, rateLimitHeader } from './amazon/index.js';
import type { Reply } from './providers.js';
import { stripeLimits, stripeRateLimited } from './stripe/api.js';
import { slackLimits, slackRateLimited } from './slack/web-api.js';

/**
 * Each provider's rate limits, enforced exactly as the provider documents them (real time), with
 * the provider's own headers and 429 body. Keyed per what the provider limits: Xero per
 * organisation, Shopify per store, Stripe/OpenAI/Anthropic/Resend per key, Amazon per token and
 * operation (its settings come from `amazon/index.ts`).
 */
export type LimitSettings = {
  /** Sliding-window limits: at most `limit` requests in any `windowMs`. */
  windows?: Array<{ name: string; limit: number; windowMs: number }>;
  /** Leaky bucket (Shopify REST): `bucket` calls, leaking `leakPerSecond`. */
  bucket?: number;
  leakPerSecond?: number;
  /** Requests in flight at once. */
  concurrent?: number;
};

const MINUTE = 60_000;
/** A provider's documented limits; a function where they depend on the key (Stripe's test mode). */
export const DEFAULT_LIMITS: Record<string, LimitSettings | ((key: string) => LimitSettings)> = {
  xero: { windows: [{ name: 'minute', limit: 60, windowMs: MINUTE }, { name: 'day', limit: 5000, windowMs: 86_400_000 }], concurrent: 5 },
  quickbooks: { windows: [{ name: 'minute', limit: 500, windowMs: MINUTE }], concurrent: 10 },
  shopify: { bucket: 40, leakPerSecond: 2 },
  unleashed: { windows: [{ name: 'hour', limit: 200, windowMs: 3_600_000 }] },
  stripe: stripeLimits,
  resend: { windows: [{ name: 'second', limit: 5, windowMs: 1000 }] }, // https://resend.com/docs/api-reference/rate-limit
  openai: { windows: [{ name: 'minute', limit: 500, windowMs: MINUTE }] },
  anthropic: { windows: [{ name: 'minute', limit: 50, windowMs: MINUTE }] },
  // Web API methods are tiered per app and workspace; auth.test and most Keyhold calls are Tier 3 (50+/min).
  slack: slackLimits,
};

type Verdict = { ok: true; headers: Record<string, string>; done: () => void } | { ok: false; reply: Reply };

export function createLimits() {
  const settings = new Map<string, LimitSettings>();
  const hits = new Map<string, number[]>();
  const buckets = new Map<string, { level: number; at: number }>();
  const inFlight = new Map<string, number>();
  const cfg = (provider: string, key: string) => {
    const s = settings.get(provider) ?? DEFAULT_LIMITS[provider];
    return typeof s === 'function' ? s(key) : s;
  };

  /** Counts one request for `key` (under `own` settings, else the provider's); the caller must call `done()` when its answer is sent. */
  function admit(provider: string, key: string, own?: LimitSettings): Verdict {
    const s = own ?? cfg(provider, key);
    if (!s) return { ok: true, headers: {}, done: () => undefined };
    const now = Date.now();
    const k = `${provider}\u0000${key}`;
    const headers: Record<string, string> = {};
    if (s.concurrent !== undefined && (inFlight.get(k) ?? 0) >= s.concurrent) return { ok: false, reply: limited(provider, 'concurrent', 1, 0, s) };
    for (const w of s.windows ?? []) {
      const list = (hits.get(`${k}\u0000${w.name}`) ?? []).filter((t) => t > now - w.windowMs);
      hits.set(`${k}\u0000${w.name}`, list);
      if (list.length >= w.limit) return { ok: false, reply: limited(provider, w.name, Math.ceil((list[0]! + w.windowMs - now) / 1000), 0, s) };
    }
    if (s.bucket !== undefined) {
      const b = buckets.get(k) ?? { level: 0, at: now };
      b.level = Math.max(0, b.level - ((now - b.at) / 1000) * (s.leakPerSecond ?? 1));
      b.at = now;
      buckets.set(k, b);
      if (b.level + 1 > s.bucket) return { ok: false, reply: limited(provider, 'bucket', 1, Math.ceil(b.level), s) };
      b.level += 1;
      if (provider === 'shopify') headers['x-shopify-shop-api-call-limit'] = `${Math.ceil(b.level)}/${s.bucket}`;
    }
    for (const w of s.windows ?? []) {
      const list = hits.get(`${k}\u0000${w.name}`)!;
      list.push(now);
      Object.assign(headers, remainingHeaders(provider, w.name, w.limit - list.length, w.limit, list[0]! + w.windowMs - now));
    }
    if (provider === 'amazon-sp-api') headers['x-amzn-ratelimit-limit'] = rateLimitHeader(s.leakPerSecond ?? 1);
    inFlight.set(k, (inFlight.get(k) ?? 0) + 1);
    let finished = false;
    return {
      ok: true,
      headers,
      done: () => {
        if (finished) return;
        finished = true;
        inFlight.set(k, (inFlight.get(k) ?? 1) - 1);
      },
    };
  }

  return {
    admit,
    api: {
      /** Overrides a provider's limits (tests); `reset()` restores the documented ones. */
      configure: (provider: string, s: LimitSettings) => void settings.set(provider, s),
      /** The settings a test configured for `provider`, if any. */
      configured: (provider: string): LimitSettings | undefined => settings.get(provider),
      reset() {
        settings.clear();
        hits.clear();
        buckets.clear();
        inFlight.clear();
      },
    },
  };
}
export type SandboxLimits = ReturnType<typeof createLimits>['api'];

/** OpenAI writes reset times as Go durations: `1s`, `6m0s`, `12ms`. */
const goDuration = (ms: number) => (ms < 1000 ? `${Math.max(0, Math.round(ms))}ms` : ms < 60_000 ? `${+(ms / 1000).toFixed(3)}s` : `${Math.floor(ms / 60_000)}m${+((ms % 60_000) / 1000).toFixed(3)}s`);

function remainingHeaders(provider: string, window: string, remaining: number, limit: number, resetMs: number): Record<string, string> {
  switch (provider) {
    case 'xero':
      // Every answer carries X-DayLimit-Remaining, X-MinLimit-Remaining and X-AppMinLimit-Remaining
      // (the app-wide minute limit, 10,000, not modelled per app here): https://developer.xero.com/faq/limits
      return window === 'minute' ? { 'x-minlimit-remaining': String(remaining), 'x-appminlimit-remaining': '9999' } : { 'x-daylimit-remaining': String(remaining) };
    // https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
    case 'openai':
      return { 'x-ratelimit-limit-requests': String(limit), 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': goDuration(resetMs) };
    // https://docs.anthropic.com/en/api/rate-limits#response-headers (reset in RFC 3339)
    case 'anthropic':
      return { 'anthropic-ratelimit-requests-limit': String(limit), 'anthropic-ratelimit-requests-remaining': String(remaining), 'anthropic-ratelimit-requests-reset': new Date(Date.now() + resetMs).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    case 'resend':
      return { 'ratelimit-limit': String(limit), 'ratelimit-remaining': String(remaining), 'ratelimit-reset': '1' };
    default:
      return {};
  }
}

function limited(provider: string, problem: string, retryAfterS: number, used: number, s: LimitSettings): Reply {
  const retry = String(Math.max(1, retryAfterS));
  switch (provider) {
    case 'xero':
      return { status: 429, body: { Title: 'Too Many Requests', Status: 429 }, headers: { 'retry-after': retry, 'x-rate-limit-problem': problem === 'concurrent' ? 'concurrent' : problem } };
    case 'shopify':
      return { status: 429, body: { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }, headers: { 'retry-after': '1.0', 'x-shopify-shop-api-call-limit': `${used}/${s.bucket}` } };
    case 'amazon-sp-api':
      return quotaExceeded();
    case 'quickbooks':
      return { status: 429, body: { Fault: { Error: [{ Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429', code: '3001' }], type: 'SERVICE' } }, headers: { 'retry-after': retry } };
    case 'stripe':
      return stripeRateLimited();
    case 'slack':
      return slackRateLimited(retry);
    case 'resend':
      return { status: 429, body: { statusCode: 429, name: 'rate_limit_exceeded', message: `Too many requests. You can only make ${s.windows?.[0]?.limit ?? 5} requests per second. See rate limit response headers for more information. Or contact support to increase rate limit.` }, headers: { 'retry-after': retry, 'ratelimit-remaining': '0' } };
    case 'openai': {
      const limit = s.windows?.find((w) => w.name === problem)?.limit ?? 0;
      return {
        status: 429,
        body: { error: { message: `Rate limit reached for requests per ${problem}: Limit ${limit}, Used ${limit}, Requested 1. Please try again in ${retry}s.`, type: 'requests', param: null, code: 'rate_limit_exceeded' } },
        headers: { 'retry-after': retry, ...remainingHeaders(provider, problem, 0, limit, Number(retry) * 1000) },
      };
    }
    case 'anthropic': {
      const limit = s.windows?.find((w) => w.name === problem)?.limit ?? 0;
      return {
        status: 429,
        body: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit.' } },
        headers: { 'retry-after': retry, ...remainingHeaders(provider, problem, 0, limit, Number(retry) * 1000) },
      };
    }
    default:
      return { status: 429, body: { error: 'rate limited' }, headers: { 'retry-after': retry } };
  }
}

/** What each provider limits by, for one request. */
export function limitKey(provider: string, req: IncomingMessage, store: string | undefined): string {
  const h = (n: string) => String(req.headers[n] ?? '');
  switch (provider) {
    case 'xero': return h('xero-tenant-id');
    case 'shopify': return store ?? '';
    case 'amazon-sp-api': return h('x-amz-access-token');
    case 'unleashed': return h('api-auth-id');
    case 'anthropic': return h('x-api-key');
    default: return h('authorization');
  }
}
