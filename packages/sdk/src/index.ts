/**
 * Keyhold's TypeScript client for business code: read a tenant's credentials for a provider
 * with an API key, without ever handling another tenant's.
 *
 * @example
 * ```ts
 * import { Keyhold } from '@keyhold/sdk';
 * const keyhold = new Keyhold({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.KEYHOLD_API_KEY! });
 * const stripe = await keyhold.credentials('stripe');              // the key's own tenant
 * const eu = await keyhold.credentials('stripe', { label: 'eu' }); // one of several accounts
 * // A platform key acts for the tenant it names:
 * const theirs = await keyhold.credentials('xero', { tenant: 'acme' });
 * ```
 */
import type { ProviderConfig, ProviderCredentials, ProviderId, SyncedRecord } from '@keyhold/contract';

export type KeyholdOptions = {
  /** Where Keyhold runs, e.g. `https://keyhold.internal`. */
  baseUrl: string;
  /** A tenant API key (`kh_…`) with the `credentials:read` scope, or a platform key. */
  apiKey: string;
  /** Defaults to the global fetch (Node 20+). */
  fetch?: typeof fetch;
};

export type { ProviderId, SyncedRecord } from '@keyhold/contract';

/** Which records of a model to read from the change feed (`GET /api/records/:model`). */
export type RecordsQuery = {
  /** Only this connection's records (its id); all of the tenant's connections otherwise. */
  connection?: string;
  /** Start after this change cursor (from a previous page or a stored position); from the beginning by default. */
  cursor?: string;
  /** Records per page (1–500, Keyhold's default 100). */
  limit?: number;
  /** A platform key reads for the tenant it names. */
  tenant?: string;
};

/** One page of the change feed: records changed after the cursor, oldest change first. */
export type RecordsPage = { records: SyncedRecord[]; cursor: { next: string; hasMore: boolean } };

export type ConnectionCredentials<P extends ProviderId = ProviderId> = {
  id: string;
  provider: P;
  label: string;
  /** Plaintext credential fields by their catalog names (e.g. `apiKey`, `accessToken`). */
  credentials: ProviderCredentials<P>;
  /** Non-secret configuration (e.g. `storeDomain`, `realmId`). */
  config: ProviderConfig<P>;
  /** Changes when the secret rotates: cache clients per (tenant, connection, version). */
  credentialVersion: number;
  status: string;
  /** When an OAuth access token expires (Keyhold refreshes it before); null when it does not. */
  expiresAt: string | null;
  /**
   * The provider API's base URL as this Keyhold is configured (the real API in production, the
   * sandbox on `npm run demo`); the official-client factories point their clients there. Null
   * when the connection lacks what the URL needs (older servers leave it out: the clients then use their own defaults).
   */
  baseUrl: string | null;
};

/** A Keyhold error with its stable code (`NOT_FOUND`, `FORBIDDEN`, `TENANT_SUSPENDED`…). */
/** Input of `keyhold.connect.createSession` (POST /api/connect/sessions). */
export type ConnectSessionInput = {
  /** Catalog ids the Connect page offers (default: every provider). */
  allowedProviders?: ProviderId[];
  /** Label of the connection it creates (several connections per provider). */
  label?: string;
  /** Your own user who connects, for your records and Keyhold's audit. */
  endUser?: { id: string; email?: string };
  /** Exact origins (`https://app.example.com`) that may embed the page and receive its message. */
  allowedOrigins?: string[];
  /** Where the page sends a browser that was not opened by openConnect (connectionId added). */
  returnTo?: string;
  /** At most 1800 (the default). */
  expiresInSeconds?: number;
  /** A platform key names the tenant. */
  tenant?: string;
};
/** A Connect session: hand `url` to the browser (openConnect from @keyhold/connect). Single use. */
export type ConnectSession = { id: string; token: string; url: string; expiresAt: string };

export class KeyholdError extends Error {
  override name = 'KeyholdError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly requestId?: string,
    readonly actions?: Array<{ label: string; url: string }>,
  ) {
    super(message);
  }
}

/** The tenant has no such connection yet: show the `actions` (e.g. "Connect Stripe"). */
export class IntegrationNotConfigured extends KeyholdError {
  override name = 'IntegrationNotConfigured';
}

export class Keyhold {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(opts: KeyholdOptions) {
    if (!opts.apiKey.startsWith('kh_')) throw new TypeError('apiKey must be a Keyhold API key (kh_…)');
    this.#baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#fetch = opts.fetch ?? fetch;
  }

  /**
   * The tenant's synced records (an API key with `records:read`). The feed is ordered by change:
   * store `cursor.next` and pass it back later to read only what changed since; a deleted record
   * comes again with `deletedAt` set.
   *
   * @example
   * for await (const order of keyhold.records.iterate('shopify_orders')) console.log(order.payload.name);
   */
  readonly records = {
    list: (model: string, q: RecordsQuery = {}): Promise<RecordsPage> => this.#recordsPage(model, q),
    /** Every record changed after `q.cursor`, page by page, until the feed has no more. */
    iterate: (model: string, q: RecordsQuery = {}): AsyncGenerator<SyncedRecord> => this.#iterateRecords(model, q),
  };

  async #recordsPage(model: string, q: RecordsQuery): Promise<RecordsPage> {
    const params = new URLSearchParams();
    if (q.connection) params.set('connection', q.connection);
    if (q.cursor) params.set('cursor', q.cursor);
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    const query = params.size > 0 ? `?${params}` : '';
    const body = await this.#getBody<{ data: SyncedRecord[]; cursor: { next: string; hasMore: boolean } }>(`/api/records/${encodeURIComponent(model)}${query}`, q.tenant);
    return { records: body.data, cursor: body.cursor };
  }

  async *#iterateRecords(model: string, q: RecordsQuery): AsyncGenerator<SyncedRecord> {
    let cursor = q.cursor;
    for (;;) {
      const page = await this.#recordsPage(model, { ...q, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.records;
      if (!page.cursor.hasMore) return;
      cursor = page.cursor.next;
    }
  }

  /**
   * Hosted Connect (an API key with the `connect` scope): a single-use, short-lived session for
   * one of your end users, who connects an account on Keyhold's page without a Keyhold account.
   *
   * @example
   * const { url } = await keyhold.connect.createSession({ allowedProviders: ['stripe'], allowedOrigins: ['https://app.example.com'] });
   */
  readonly connect = {
    createSession: ({ tenant, ...body }: ConnectSessionInput = {}): Promise<ConnectSession> => this.#post<ConnectSession>('/api/connect/sessions', body, tenant),
    /** Re-authorises a connection in `needs_reauth` (409 RECONNECT_NOT_NEEDED otherwise). */
    reconnect: ({ tenant, ...body }: Omit<ConnectSessionInput, 'allowedProviders' | 'label'> & { connectionId: string }): Promise<ConnectSession> =>
      this.#post<ConnectSession>('/api/connect/sessions/reconnect', body, tenant),
  };

  async #post<T>(path: string, body: unknown, tenant?: string): Promise<T> {
    const res = await this.#fetch(`${this.#baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json', 'content-type': 'application/json', ...(tenant ? { 'x-keyhold-tenant': tenant } : {}) },
      body: JSON.stringify(body),
    });
    if (res.ok) {
      const json = (await res.clone().json().catch(() => ({}))) as { success?: boolean; data?: T };
      if (json.success) return json.data as T;
    }
    throw await errorOf(res);
  }

  /** The credentials of the tenant's connection to `provider` (`label` picks among several). */
  async credentials<P extends ProviderId>(provider: P, opts: { label?: string; tenant?: string } = {}): Promise<ConnectionCredentials<P>> {
    const query = opts.label ? `?label=${encodeURIComponent(opts.label)}` : '';
    return this.#get<ConnectionCredentials<P>>(`/api/connections/${encodeURIComponent(provider)}/credentials${query}`, opts.tenant);
  }

  /**
   * Calls the provider's API through Keyhold's proxy as the tenant: Keyhold injects the
   * credentials and keeps to the provider's rate limits. Returns the provider's response as is;
   * Keyhold's own refusals (no connection, rate limited, provider paused) throw `KeyholdError`.
   *
   * @example
   * const res = await keyhold.proxyFetch('xero', '/api.xro/2.0/Invoices', {}, { tenant: 'acme' });
   */
  async proxyFetch(provider: ProviderId, path: string, init: RequestInit = {}, opts: { label?: string; tenant?: string; maxWaitMs?: number } = {}): Promise<Response> {
    if (!path.startsWith('/')) throw new TypeError("path must start with '/'");
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.#apiKey}`);
    if (opts.tenant) headers.set('x-keyhold-tenant', opts.tenant);
    if (opts.label) headers.set('x-connection-label', opts.label);
    if (opts.maxWaitMs !== undefined) headers.set('x-keyhold-max-wait', String(opts.maxWaitMs));
    const res = await this.#fetch(`${this.#baseUrl}/api/proxy/${encodeURIComponent(provider)}${path}`, { ...init, headers });
    if (!res.headers.has('x-keyhold-error')) return res;
    throw await errorOf(res);
  }

  async #get<T>(path: string, tenant?: string): Promise<T> {
    return (await this.#getBody<{ data: T }>(path, tenant)).data;
  }

  /** A successful JSON answer's whole body (`{ success: true, data, … }`); anything else throws. */
  async #getBody<B>(path: string, tenant?: string): Promise<B> {
    const res = await this.#fetch(`${this.#baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json', ...(tenant ? { 'x-keyhold-tenant': tenant } : {}) },
    });
    if (res.ok) {
      const body = (await res.clone().json().catch(() => ({}))) as { success?: boolean };
      if (body.success) return body as B;
    }
    throw await errorOf(res);
  }
}

async function errorOf(res: Response): Promise<KeyholdError> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; error?: string; requestId?: string; actions?: Array<{ label: string; url: string }> };
  const Err = res.status === 404 && body.code === 'NOT_FOUND' ? IntegrationNotConfigured : KeyholdError;
  return new Err(body.code ?? 'HTTP_ERROR', res.status, body.error ?? `Keyhold answered ${res.status}`, body.requestId, body.actions);
}
