import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import type { Logger } from '../../platform/logger.js';
import { type Metrics, statusClass } from '../../platform/metrics.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import type { ConnectionsService, InUse } from '../connections/connections.service.js';
import { providerBaseUrl, tenantBaseUrlField } from '../connections/provider-request.js';
import type { TenantPrincipal } from '../identity/principal.js';
import { adapterFor } from '../../providers/registry.js';
import type { Breakers } from './breaker.js';
import { forwardableResponseHeaders } from './headers.js';
import { type Target, providerTarget } from './prepared.js';
import { type RateLimiter, retryAfterMs } from './limits.js';

export type ProxyRequest = {
  method: string;
  /** Path and query relative to the provider's base URL, starting with `/`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** A Buffer can be sent again (refresh-and-retry, idempotent retries); a stream only once. */
  body?: Buffer | Readable;
};
export type ProxyResponse = { status: number; headers: Record<string, string | string[]>; body: Readable };

export type ProxyDeps = {
  connections: Pick<ConnectionsService, 'forUse' | 'forceRefresh' | 'setHealth'>;
  catalog: Pick<Catalog, 'get'>;
  limiter: RateLimiter;
  breakers: Breakers;
  metrics: Metrics;
  /** Sends to the provider; a tenant-supplied base URL is guarded there (SSRF, DNS rebinding). */
  http: Pick<ProviderHttp, 'request'>;
  /**
   * Told of every answer in which the provider itself refused the connection's credentials (its
   * 401/403, after any refresh-and-retry), so the connection store can record it on the
   * connection. Not awaited by the caller; a failure is logged and the answer still goes back.
   */
  onUpstreamRefusal?: (refusal: UpstreamRefusal) => Promise<void>;
  log?: Pick<Logger, 'warn'>;
  /** Keyhold's public URL: provider URLs in response headers are rewritten under its proxy path. */
  publicUrl?: string;
};

/** The provider's own refusal of a connection's credentials (never its body: it may echo them). */
export type UpstreamRefusal = { tenantId: string; connectionId: string; provider: string; status: 401 | 403 };

/** `WWW-Authenticate: Bearer error="insufficient_scope"`: the token is valid but not for this call. */
const lacksScope = (headers: Record<string, string | string[] | undefined>) =>
  /\berror\s*=\s*"?insufficient_scope\b/i.test(([] as string[]).concat(headers['www-authenticate'] ?? []).join(','));

/** Marks a provider's 401/403 as the provider's, so a client never takes it for Keyhold's own auth failure. */
export const UPSTREAM_STATUS_HEADER = 'x-keyhold-upstream-status';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRY_STATUS = new Set([429, 502, 503, 504]);
const MAX_RETRIES = 2;
const backoff = (attempt: number) => Math.round(200 * 2 ** attempt * (0.5 + Math.random() / 2));

/**
 * Calls a provider as the principal's tenant: its connection's credentials are injected per the
 * catalog, within the provider's rate limits, behind a circuit breaker. The response streams back.
 */
export function createProxyService(deps: ProxyDeps) {
  const { metrics, breakers, limiter } = deps;
  const unavailable = (provider: Provider, retryInMs: number, why: string) =>
    new AppError('INTEGRATION_UNAVAILABLE', `${provider.displayName} ${why}; Keyhold pauses calls to it for a moment`, {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryInMs / 1000))) },
      actions: [{ label: 'Check the connection', url: `/admin/integrations?provider=${provider.id}` }],
    });

  /**
   * The provider request for this connection (see prepared.ts). Anything thrown here is about
   * the request or the connection, not the provider: it never reaches the breaker.
   */
  const target = (provider: Provider, conn: InUse, req: ProxyRequest) => providerTarget(provider, conn, req.path, req.headers);

  async function attempt(provider: Provider, built: Target, req: ProxyRequest, body: Buffer | Readable | null) {
    const started = performance.now();
    const res = await deps.http.request(built.url, {
      method: req.method,
      headers: built.headers,
      body,
      timeoutMs: 30_000,
      bodyTimeoutMs: 60_000,
      ...(tenantBaseUrlField(provider) ? { tenantUrl: true } : {}),
    });
    metrics.proxyLatency.observe({ provider: provider.id }, (performance.now() - started) / 1000);
    return res;
  }

  /** `onRateWait`: told each time the call waits for a rate limit (Keyhold's or the provider's 429); a sync run sums them. */
  async function send(p: TenantPrincipal, providerId: string, req: ProxyRequest, opts: { label?: string; maxWaitMs?: number; onRateWait?: (ms: number) => void } = {}): Promise<ProxyResponse> {
    const provider = deps.catalog.get(providerId);
    const maxWaitMs = opts.maxWaitMs ?? 0;
    let conn = await deps.connections.forUse(p, provider, opts.label ?? 'default', 'proxy.use');
    const connectionId = conn.row.id;
    const gate = breakers.check(connectionId);
    if (!gate.allowed) throw unavailable(provider, gate.retryInMs, 'has been failing');
    let built = target(provider, conn, req);
    // Limits may be per operation (method + path) and per connection (figures its config sets).
    const call = { method: req.method, path: req.path, config: conn.row.config };
    const permit = await limiter.acquire(p.tenantId, connectionId, provider, { maxWaitMs, call, ...(opts.onRateWait ? { onWait: opts.onRateWait } : {}) });
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const canRetry = replayable && IDEMPOTENT.has(req.method.toUpperCase());
    const streamed = req.body !== undefined && !Buffer.isBuffer(req.body) ? ownedBody(req.body) : null;
    let refreshed = false;
    try {
      for (let n = 0; ; n++) {
        let res: Awaited<ReturnType<typeof attempt>>;
        try {
          res = await attempt(provider, built, req, streamed?.stream ?? (req.body as Buffer | undefined) ?? null);
        } catch (err) {
          const cause = notTheProvider(err, streamed);
          if (cause === 'client') throw new AppError('VALIDATION_FAILED', `This request cannot be sent to ${provider.displayName}: ${clientMistake(err, streamed)}`);
          if (cause === 'keyhold') throw err;
          failure(p.tenantId, provider, connectionId);
          if (canRetry && n < MAX_RETRIES) {
            metrics.retries.inc({ provider: provider.id, reason: 'network' });
            await sleep(backoff(n));
            continue;
          }
          throw unavailable(provider, 5000, 'did not answer');
        }
        metrics.proxyRequests.inc({ provider: provider.id, status: statusClass(res.statusCode) });
        await limiter.observe(p.tenantId, connectionId, provider, res.statusCode, res.headers, call);
        if (res.statusCode >= 500) failure(p.tenantId, provider, connectionId);
        else success(p.tenantId, provider, connectionId);
        // The provider refused the token: refresh once (shared with other nodes) and try again;
        // not when it says the grant lacks a scope (RFC 6750 §3.1), which no refresh can change.
        if (res.statusCode === 401 && provider.oauth && !refreshed && replayable && conn.secrets.refreshToken && !lacksScope(res.headers)) {
          await res.body.dump();
          refreshed = true;
          metrics.retries.inc({ provider: provider.id, reason: 'token_refresh' });
          conn = await deps.connections.forceRefresh(p.tenantId, conn);
          built = target(provider, conn, req);
          continue;
        }
        if (RETRY_STATUS.has(res.statusCode) && canRetry && n < MAX_RETRIES) {
          const wait = res.statusCode === 429 ? (retryAfterMs(headerOf(res.headers, 'retry-after')) ?? 1000) : backoff(n);
          if (res.statusCode !== 429 || wait <= maxWaitMs) {
            await res.body.dump();
            metrics.retries.inc({ provider: provider.id, reason: String(res.statusCode) });
            if (res.statusCode === 429) opts.onRateWait?.(wait);
            await sleep(wait);
            continue;
          }
        }
        res.body.once('close', () => void permit.release().catch(() => undefined));
        const headers = providerUrlsToProxy(provider, conn, forwardableResponseHeaders(res.headers));
        if (res.statusCode === 401 || res.statusCode === 403) {
          headers[UPSTREAM_STATUS_HEADER] = String(res.statusCode);
          refusedByProvider({ tenantId: p.tenantId, connectionId, provider: provider.id, status: res.statusCode });
        }
        return { status: res.statusCode, headers, body: res.body };
      }
    } catch (err) {
      await permit.release().catch(() => undefined);
      throw err;
    }
  }

  /** The adapter's rewrite of provider URLs in the answer's headers (pagination links) to Keyhold's proxy path. */
  function providerUrlsToProxy(provider: Provider, conn: InUse, headers: Record<string, string | string[]>) {
    const rewrite = adapterFor(provider).request?.responseHeaders;
    if (!rewrite) return headers;
    const values = { config: conn.row.config, secrets: conn.secrets };
    const proxyBase = `${(deps.publicUrl ?? '').replace(/\/+$/, '')}/api/proxy/${provider.id}`;
    return rewrite(headers, { values, upstreamBase: providerBaseUrl(provider, values), proxyBase });
  }

  function refusedByProvider(refusal: UpstreamRefusal) {
    void deps.onUpstreamRefusal?.(refusal).catch((err) => deps.log?.warn({ err: { message: (err as Error).message } }, 'could not record the provider refusing the credentials'));
  }
  function failure(tenantId: string, provider: Provider, connectionId: string) {
    const before = breakers.state(connectionId);
    breakers.failure(connectionId);
    if (before === 'closed' && breakers.state(connectionId) !== 'closed') {
      metrics.breakerOpen.inc({ provider: provider.id });
      void deps.connections.setHealth(tenantId, connectionId, false).catch((err) => deps.log?.warn({ err: { message: (err as Error).message } }, 'could not record degraded status'));
    }
  }
  function success(tenantId: string, provider: Provider, connectionId: string) {
    if (breakers.state(connectionId) === 'closed') return;
    breakers.success(connectionId);
    metrics.breakerOpen.dec({ provider: provider.id });
    void deps.connections.setHealth(tenantId, connectionId, true).catch(() => undefined);
  }

  return { send };
}
export type ProxyService = ReturnType<typeof createProxyService>;

/**
 * A streamed body as Keyhold's own stream: when the client's upload fails, the source errors;
 * when the provider fails, the HTTP client destroys only this copy. So the two stay apart.
 */
function ownedBody(source: Readable) {
  const stream = new PassThrough();
  let failed = false;
  source.once('error', (err) => {
    failed = true;
    stream.destroy(err);
  });
  source.pipe(stream);
  return { stream, failed: () => failed };
}

/** undici's refusals of a request it was handed (a header it cannot send, say): nothing reached the provider. */
const REFUSED_BY_CLIENT = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/**
 * Whether a failed send is someone else's fault than the provider's: the client's (its upload
 * broke off, or undici refused what it asked for) or Keyhold's own (an AppError, such as the
 * tenant URL dispatcher refusing a base URL that resolved to a non-public address, is answered as is;
 * an error with no network code is a bug, left to the error handler to log). Only the rest is the
 * provider not answering.
 */
function notTheProvider(err: unknown, streamed: { failed(): boolean } | null): 'client' | 'keyhold' | null {
  if (err instanceof AppError) return 'keyhold';
  if (streamed?.failed()) return 'client';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'keyhold';
  return REFUSED_BY_CLIENT.has(code) ? 'client' : null;
}

/** undici's messages name a header or a rule, never a value, so they can be shown. */
const clientMistake = (err: unknown, streamed: { failed(): boolean } | null) =>
  streamed?.failed() ? 'the request body ended before it was complete' : (err as Error).message;

const headerOf = (h: Record<string, string | string[] | undefined>, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};
