import type { ErrorCode } from '@keyhold/contract';
import type { Provider } from '../api/types';

/**
 * The Connect page's own client: its only credential is the session token from its address
 * (`/connect/<token>`), sent as `Authorization: ConnectSession <token>`. The page keeps a copy in
 * sessionStorage (this tab only) so that it can announce the result after an OAuth round trip.
 */
const STORAGE_KEY = 'keyhold.connect.token';

export function sessionToken(): string | null {
  const m = /^\/connect\/(khc_[A-Za-z0-9_-]+)$/.exec(window.location.pathname);
  // A browser may refuse storage to a page framed by another site: the frame then works from its
  // address alone (it cannot run OAuth anyway).
  try {
    if (m) sessionStorage.setItem(STORAGE_KEY, m[1]!);
    else return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return m?.[1] ?? null;
  }
  return m[1]!;
}

export class ConnectApiError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode | 'NETWORK' | string, message: string) {
    super(message);
  }
}

export async function connectApi<T>(token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', authorization: `ConnectSession ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ConnectApiError(0, 'NETWORK', 'Keyhold could not be reached; check your connection and try again');
  }
  const json = await res.json().catch(() => null) as { success?: boolean; data?: T; error?: string; code?: string } | null;
  if (!res.ok || !json?.success) throw new ConnectApiError(res.status, json?.code ?? 'INTERNAL_ERROR', json?.error ?? `Request failed (${res.status})`);
  return json.data as T;
}

export type ConnectSessionView = {
  label: string;
  reconnect: boolean;
  providers: Provider[];
  allowedOrigins: string[];
  returnTo: string | null;
  expiresAt: string;
};
export type Completed = { connectionId: string; provider: string; label: string };
export type CompletedWithTargets = Completed & { allowedOrigins: string[]; returnTo: string | null };
