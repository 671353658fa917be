import { ApiError } from '../api/client';

/**
 * The platform console's own token, apart from a tenant session's (a different audience and
 * signing key): in memory only, renewed by the HttpOnly `keyhold_admin_refresh` cookie.
 */
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
let onSessionLost: () => void = () => undefined;

export const setPlatformToken = (token: string | null) => void (accessToken = token);
export const setPlatformSessionLostHandler = (h: () => void) => void (onSessionLost = h);

export function refreshPlatformSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/admin/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' });
      accessToken = res.ok ? ((await res.json()).data.accessToken as string) : null;
      return res.ok;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** One call to the platform API: the envelope's `data` (and `pagination`) on success, an ApiError otherwise. */
export async function platformApi<T>(method: string, path: string, opts: { body?: unknown; retry?: boolean } = {}): Promise<{ data: T; pagination?: Pagination }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Keyhold could not be reached. Check your connection and try again.');
  }
  if (res.status === 401 && opts.retry !== false && !path.startsWith('/api/admin/auth/')) {
    if (await refreshPlatformSession()) return platformApi<T>(method, path, { ...opts, retry: false });
    onSessionLost();
  }
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok || body?.success === false) {
    throw new ApiError(res.status, typeof body?.code === 'string' ? body.code : 'HTTP_ERROR', typeof body?.error === 'string' ? body.error : `Request failed (${res.status})`);
  }
  return { data: body?.data as T, ...(body?.pagination ? { pagination: body.pagination as Pagination } : {}) };
}

export type Pagination = { page: number; limit: number; total: number; totalPages: number; hasMore: boolean };
export const platformData = async <T,>(method: string, path: string, body?: unknown) => (await platformApi<T>(method, path, body === undefined ? {} : { body })).data;
