import type { ErrorAction, ErrorCode } from '@keyhold/contract';

/**
 * The access token lives in this module only (never in storage): a page reload signs in again
 * through the HttpOnly refresh cookie, which scripts cannot read.
 */
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
let onSessionLost: () => void = () => undefined;

export function setAccessToken(token: string | null) {
  accessToken = token;
}

/** Called when the refresh cookie no longer signs in (session ended elsewhere, expired, revoked). */
export function setSessionLostHandler(handler: () => void) {
  onSessionLost = handler;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK' | string,
    message: string,
    readonly actions: ErrorAction[] = [],
  ) {
    super(message);
  }
}

/** `envelope`: the whole success envelope (a page's `pagination` with its `data`), not only `data`. */
/** `as`: the envelope's `data` (default), a paged list with its `pagination`, or the body as text (CSV). */
type Options = { body?: unknown; mfaCode?: string; retryAfterRefresh?: boolean; envelope?: boolean; as?: 'data' | 'paged' | 'text' };

/** Exchanges the refresh cookie for a new access token; concurrent callers share one exchange. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (!res.ok) {
        accessToken = null;
        return false;
      }
      accessToken = (await res.json()).data.accessToken as string;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** One call to the Keyhold API: the envelope's `data` on success, an ApiError otherwise. */
export async function api<T>(method: string, path: string, opts: Options = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.mfaCode) headers['x-mfa-code'] = opts.mfaCode;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Keyhold could not be reached. Check your connection and try again.');
  }
  if (res.status === 401 && opts.retryAfterRefresh !== false && !path.startsWith('/api/auth/')) {
    if (await refreshSession()) return api<T>(method, path, { ...opts, retryAfterRefresh: false });
    onSessionLost();
  }
  const raw = await res.text().catch(() => '');
  const body = (() => {
    try {
      return JSON.parse(raw) as Record<string, unknown> | null;
    } catch {
      return null;
    }
  })();
  if (!res.ok || body?.success === false) {
    throw new ApiError(
      res.status,
      typeof body?.code === 'string' ? body.code : 'HTTP_ERROR',
      // Error envelopes carry `error`; the test-connection failure also a more specific `message`.
      typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : `Request failed (${res.status})`,
      Array.isArray(body?.actions) ? (body.actions as ErrorAction[]) : [],
    );
  }
  if (opts.as === 'text') return raw as T;
  if (opts.envelope) return body as T;
  if (opts.as === 'paged') return { items: body?.data ?? [], pagination: body?.pagination } as T;
  return (body?.data ?? body) as T;
}
