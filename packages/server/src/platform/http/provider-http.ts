import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import type { TenantUrlGuard } from './public-dispatcher.js';
import { VERSION } from '../../version.js';

/**
 * Every call Keyhold makes to a provider (proxy, verify, OAuth, account discovery, revocation;
 * later webhook deliveries and syncs) goes through one `ProviderHttp`, created once in deps.ts.
 * Nothing else imports undici's request/fetch or calls the global fetch for provider traffic
 * (no-direct-http.test.ts), so timeouts and the tenant-URL guard cannot be forgotten by a caller.
 */
export type ProviderHttp = {
  /** undici-`request`-shaped: status, headers and a body stream (the proxy streams it back). */
  request(url: string, opts?: ProviderRequestOptions): Promise<ProviderResponse>;
  /** WHATWG-`fetch`-shaped, for code written against fetch (oauth4webapi's `customFetch`). */
  fetch(input: string | URL, init?: ProviderFetchInit): Promise<Response>;
};

export type ProviderCallOptions = {
  /**
   * The URL is a tenant's own (a custom provider's base URL): it must be https with no
   * credentials and resolve only to public addresses (a clear 400 before the call), and the
   * connection goes only to the address judged public when connecting (DNS rebinding). `field`
   * names the setting in the 400. Unset: the URL is the catalog's or the operator's.
   */
  tenantUrl?: true | { field: string };
  /** Longest wait for the response headers (default 10 s). */
  timeoutMs?: number;
  /** Longest silence between two chunks of the response body (default: `timeoutMs`). */
  bodyTimeoutMs?: number;
  signal?: AbortSignal;
};

export type ProviderRequestOptions = ProviderCallOptions & {
  method?: string;
  headers?: Record<string, string>;
  /** A Buffer or string can be sent again; a stream only once. */
  body?: string | Buffer | Readable | null;
};

export type ProviderResponse = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;

/** `fetch`'s init plus Keyhold's per-call options. Redirects are never followed: a 3xx is the answer. */
export type ProviderFetchInit = Omit<RequestInit, 'signal'> & Omit<ProviderCallOptions, 'signal'> & { signal?: AbortSignal | null };

export const DEFAULT_TIMEOUT_MS = 10_000;
/** How Keyhold names itself to providers. */
export const USER_AGENT = `Keyhold/${VERSION} (Language=Node.js/${process.versions.node})`;

/** Statuses whose responses never have a body (the Fetch standard's "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function createProviderHttp(deps: {
  /** Guards and sends tenant-supplied URLs; the only path they take. */
  tenantUrls: Pick<TenantUrlGuard, 'check' | 'dispatcher'>;
  /** Sends everything else (catalog and operator URLs); an Agent of its own by default. */
  dispatcher?: Dispatcher;
}): ProviderHttp {
  const catalogDispatcher = deps.dispatcher ?? new Agent();

  async function send(url: string, opts: ProviderRequestOptions = {}): Promise<ProviderResponse> {
    let dispatcher = catalogDispatcher;
    if (opts.tenantUrl) {
      await (opts.tenantUrl === true ? deps.tenantUrls.check(url) : deps.tenantUrls.check(url, opts.tenantUrl.field));
      dispatcher = deps.tenantUrls.dispatcher;
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headers = opts.headers ?? {};
    return request(url, {
      method: (opts.method ?? 'GET') as Dispatcher.HttpMethod,
      // Providers refuse or cannot trace requests without one (Resend answers 403 — see
      // https://resend.com/docs/api-reference/introduction#user-agent; SP-API asks for
      // "App/version (Language=…)" — https://developer-docs.amazon.com/sp-api/docs/include-a-user-agent-header-in-all-requests).
      // A client's own User-Agent (an official SDK through the proxy) is kept.
      headers: Object.keys(headers).some((h) => h.toLowerCase() === 'user-agent') ? headers : { ...headers, 'user-agent': USER_AGENT },
      body: opts.body ?? null,
      headersTimeout: timeoutMs,
      bodyTimeout: opts.bodyTimeoutMs ?? timeoutMs,
      dispatcher,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async function fetchLike(input: string | URL, init: ProviderFetchInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const method = (init.method ?? 'GET').toUpperCase();
    const body = fetchBody(init.body, headers); // may set the content type
    const res = await send(String(input), {
      method,
      headers: Object.fromEntries(headers),
      body,
      ...(init.tenantUrl ? { tenantUrl: init.tenantUrl } : {}),
      ...(init.timeoutMs !== undefined ? { timeoutMs: init.timeoutMs } : {}),
      ...(init.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: init.bodyTimeoutMs } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
    if (res.statusCode < 200 || res.statusCode > 599) {
      await res.body.dump();
      throw new TypeError(`the server answered with status ${res.statusCode}, which a fetch Response cannot carry`);
    }
    const bodiless = NULL_BODY.has(res.statusCode) || method === 'HEAD';
    if (bodiless) await res.body.dump();
    // Response takes an async iterable (Node's fetch is undici's), so the body still streams.
    return new Response(bodiless ? null : (res.body as unknown as ConstructorParameters<typeof Response>[0]), { status: res.statusCode, headers: responseHeaders(res.headers) });
  }

  return { request: send, fetch: fetchLike };
}

/** What `fetch` accepts that provider calls use: text, form bodies and bytes. */
function fetchBody(body: RequestInit['body'], headers: Headers): string | Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return body.toString();
  }
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('ProviderHttp.fetch sends string, URLSearchParams or byte bodies; use request() to stream');
}

function responseHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.append(name, v);
    else out.append(name, value);
  }
  return out;
}
