import type { z } from 'zod';
import type { Provider } from '../domains/catalog/catalog.js';
import type { TokenSet } from '../domains/oauth/oauth-client.js';
import type { ProviderHttp } from '../platform/http/provider-http.js';
import type { Logger } from '../platform/logger.js';

/**
 * The code a provider needs beyond its catalog entry. Every hook is optional: a provider the
 * catalog describes fully as data has no adapter at all. Generic domains reach adapters only
 * through `adapterFor()` (registry.ts) and never name a provider.
 */
export type ProviderAdapter = {
  /** The catalog id (`catalog/providers/<id>.yaml`). */
  id: string;
  oauth?: OAuthHooks;
  /** Token revocation in a shape other than RFC 7009's form body. */
  revoke?: RevokeHook;
  request?: RequestHooks;
  /** What the provider's response headers say about its remaining quota (Retry-After stays generic). */
  rateSignals?: (header: HeaderReader) => RateSignal[];
  /** Inbound webhooks: typed here, implemented when inbound webhooks land. */
  webhooks?: WebhookHooks;
  /** Sync readers by sync name (`POST /api/syncs/:connectionId/:sync/run`); see domains/syncs. */
  syncs?: Record<string, SyncDefinition>;
  /** Writes to the provider by action name (domains/syncs/actions.ts). */
  actions?: Record<string, ActionDefinition>;
  /** Messages to people, for providers that send email or chat (notifications). */
  messaging?: MessagingHooks;
};

/** One email to one recipient; `idempotencyKey` stays the same across retries of the message. */
export type OutboundEmail = { from: string; to: string; subject: string; html: string; text: string; idempotencyKey: string };
/** A request to the provider, path relative to its base URL; credentials are added by whoever sends it. */
export type ProviderCall = { method: 'POST'; path: string; headers: Record<string, string>; body: string };

export type MessagingHooks = {
  email?: {
    send(msg: OutboundEmail): ProviderCall;
    /** The provider's id of the accepted message, from a 2xx answer's JSON. */
    messageId(answer: unknown): string | null;
    /** Headers carrying an operator's own API key (the platform's sender has no connection). */
    platformAuth(apiKey: string): Record<string, string>;
  };
  chat?: {
    post(msg: { channel: string; text: string }): ProviderCall;
    /** Whether a 2xx answer accepted the post (some APIs answer 200 with an error inside). */
    result(answer: unknown): { ok: true; id: string | null } | { ok: false; error: string };
  };
};

/** One provider account the user authorised. `id` is the routing key (unique across tenants). */
export type Account = {
  id: string | null;
  name: string;
  /** Non-secret config kept on the connection (account ids the API needs). */
  config: Record<string, string>;
  /** Replaces the token set where the account has its own token. */
  secrets?: Record<string, string>;
  neverExpires?: boolean;
};

/** What a hook knows about the authorization in progress. */
export type OAuthContext = {
  provider: Provider;
  /** Non-secret inputs kept from the authorize call (what `authorizeParams` returned). */
  params: Record<string, string>;
  app: { clientId: string; clientSecret: string; applicationId?: string };
  now: Date;
  /** The only way an adapter calls the provider (account discovery). */
  http: ProviderHttp;
  /** For what fails without failing the connect (never given secrets). */
  log?: Pick<Logger, 'warn'>;
};

/** The optional inputs of `POST /api/integrations/:provider/authorize` an adapter may use. */
export type AuthorizeInputs = { shop?: string | undefined; region?: string | undefined; marketplaceId?: string | undefined };

/** Steps around the standard authorization code flow (RFC 6749 §4.1); absent ones are standard. */
export type OAuthHooks = {
  /** The catalog's `oauth.flow` value these hooks implement. */
  flow: string;
  /** Checks the inputs this provider needs and returns the ones to keep with the state. Throws AppError VALIDATION_FAILED. */
  authorizeParams?(input: AuthorizeInputs): Record<string, string>;
  /** Adjusts the consent URL after the standard parameters are set. */
  authorizeUrl?(url: URL, ctx: OAuthContext): void;
  /** Checks the callback beyond state and returns it in RFC 6749 form. Throws AppError OAUTH_CALLBACK_INVALID. */
  callback?(query: Record<string, string>, ctx: OAuthContext): URLSearchParams;
  /** Extra parameters of the authorization code exchange (beyond RFC 6749 §4.1.3). */
  codeExchangeParams?(): Record<string, string>;
  /** Rewrites a token endpoint answer into RFC 6749 §5 form before it is checked. */
  tokenResponse?(answer: TokenAnswer): TokenAnswer;
  /** Which provider account(s) the tokens give access to (default: one account, no routing key). */
  accounts?(grant: Grant, ctx: OAuthContext): Promise<Account[]>;
  /**
   * Disconnecting when the grant can reach more accounts than this connection's: removes this
   * account at the provider, and calls `revokeGrant` only where that harms no other account
   * (default: the whole grant is revoked). Throws when the provider could not be reached.
   */
  release?(req: ReleaseRequest): Promise<void>;
  /**
   * Exchanges a grant the provider is retiring (an access token without expiry or refresh token
   * that Keyhold's OAuth flow obtained) for a current one, without the user. The background
   * sweep calls it, under the connection's refresh lease, for connections whose token came from
   * Keyhold's OAuth flow and has no expiry. Throws TokenRequestError: `transient` is retried
   * later; any other kind is a definite refusal (the connection is left as it is).
   */
  upgradeGrant?(req: UpgradeRequest): Promise<TokenSet>;
};

export type UpgradeRequest = {
  provider: Provider;
  /** The connection's non-secret config. */
  config: Record<string, string>;
  /** The provider's token endpoint for this connection (its `{{field}}`s filled). */
  tokenUrl: string;
  /** The token to exchange. */
  accessToken: string;
  app: { clientId: string; clientSecret: string };
  timeoutMs: number;
  http: ProviderHttp;
};

export type ReleaseRequest = {
  provider: Provider;
  /** The connection's non-secret config (its account id). */
  config: Record<string, string>;
  /** A fresh access token of the grant. */
  accessToken: string;
  http: ProviderHttp;
  revokeGrant(): Promise<void>;
};

export type TokenAnswer = { status: number; body: Record<string, unknown> };
export type Grant = { tokens: TokenSet; /** The token endpoint's whole answer. */ response: Record<string, unknown>; query: Record<string, string> };

export type RevokeHook = {
  /** The catalog's `oauth.revokeFormat` value this hook implements. */
  format: string;
  /** Sends the revocation; returns the HTTP status (a network failure throws). */
  send(req: { endpoint: string; token: string; clientId: string; clientSecret: string; timeoutMs: number; http: ProviderHttp }): Promise<number>;
};

/** A connection's values: non-secret config and the secrets (kept apart on purpose). */
export type ConnectionValues = { config: Record<string, string>; secrets: Record<string, string> };
/** Fills `{{field}}` placeholders; a missing value is a 400 naming the field. */
export type Fill = (template: string, values: Record<string, string>) => string;

export type RequestHooks = {
  /** The catalog's `inject.scheme` value `sign` implements. */
  scheme?: string;
  /** The catalog's `authMode` value these hooks implement, when it is not plain data. */
  authMode?: string;
  /**
   * The base URL is the tenant's own, from this non-secret config field: it is checked against
   * SSRF on save and before every call and sent only to the addresses that check approved.
   */
  tenantBaseUrl?: { field: string };
  /** Headers carrying the credentials, replacing the catalog's header/Basic injection. */
  inject?(values: ConnectionValues, fill: Fill): Record<string, string>;
  /** Headers computed from each request (signatures), added after the catalog's injection. */
  sign?(req: { url: URL; values: ConnectionValues }): Record<string, string>;
  /**
   * Rewrites the provider's response headers before they go back through Keyhold's proxy: URLs
   * pointing at the provider (pagination `Link`s) are turned into Keyhold proxy URLs, so a client
   * that follows them keeps going through Keyhold. `upstreamBase` is this connection's base URL,
   * `proxyBase` Keyhold's (`<public URL>/api/proxy/<provider>`), both without a trailing slash.
   */
  responseHeaders?(headers: Record<string, string | string[]>, ctx: { values: ConnectionValues; upstreamBase: string; proxyBase: string }): Record<string, string | string[]>;
  /** The verify request, when the tenant defines it (undefined: none); its path is used as written. */
  verify?(values: ConnectionValues): { method: 'GET' | 'POST'; path: string; expectStatus: number[] } | undefined;
};

export type HeaderReader = (name: string) => string | undefined;
/**
 * A limit bucket of the catalog's `rateLimits` and how many calls the provider says are left in it;
 * `limit`: the provider's own figure for that window, where its answer states it (with none left,
 * the next call waits for the provider's rate, not the catalog's).
 */
export type RateSignal = { bucket: 'second' | 'minute' | 'hour' | 'day'; remaining: number; limit?: number };

/**
 * An inbound webhook request as received. Signatures are over the raw bytes, so the body is never
 * parsed before `verify` passed. Header names are lower case.
 */
export type InboundWebhook = {
  method: 'GET' | 'POST';
  raw: Buffer;
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string>>;
};

/** What a connection-level `verify` may read besides the secrets: the connection's non-secret config. */
export type WebhookConnection = { config: Readonly<Record<string, string>> };

/** Why a delivery is refused (401, nothing stored). Never "accept unsigned". */
export type WebhookRefusal = 'no_secret' | 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'malformed';
export type WebhookVerdict = { ok: true } | { ok: false; reason: WebhookRefusal };

/**
 * One event of a delivery, ids only for routing. A delivery may carry events of several provider
 * accounts (Xero, QuickBooks and Meta batch them): each is stored under its own tenant.
 */
export type WebhookEvent = {
  /** The provider's id of this event (dedupe key with tenant and provider); derived from the body when the provider sends none. */
  externalId: string;
  /** The provider's topic or event type (`orders/create`, `INVOICE.UPDATE`, `payment_intent.succeeded`). */
  topic: string;
  /**
   * The routing key of the owning connection (same value as `connections.routing_key`), or null
   * for per-connection endpoints, where the URL's token names the connection.
   */
  routingKey: string | null;
  /** This event's part of the delivery, as JSON (what processing and tenants see). */
  payload: unknown;
  /** What the event means for the connection, acted on after the ack (processing job). */
  effect?: 'disconnected' | 'changed';
};

/** An answer given instead of storing anything (handshakes): Meta's hub.challenge, Slack's url_verification, Xero's intent to receive. */
export type WebhookReply = { status: number; body?: string; contentType?: string };

/**
 * Inbound webhooks of one provider. `level: 'app'`: one URL per provider
 * (`POST /api/webhooks/:provider`), signed with the operator's app secret(s);
 * `level: 'connection'`: one URL per connection (`POST /api/webhooks/:provider/:endpointToken`),
 * signed with the connection's secret field `secretField` (in the vault).
 */
export type WebhookHooks = {
  /** The catalog's `webhooks.scheme` value these hooks implement. */
  scheme: string;
  level: 'app' | 'connection';
  /** Connection level: the connection's secret field holding the signing secret (or verification key). */
  secretField?: string;
  /**
   * App level: the provider signs with the OAuth app's client secret, so that secret is used when
   * the operator configured no webhook secret of its own (KEYHOLD_WEBHOOK_<ID>_SECRETS).
   */
  signedWithClientSecret?: boolean;
  /**
   * Constant-time check with any of the current secrets (two during a rotation window), on the raw
   * bytes; timestamps outside the provider's window are `stale_timestamp`. `now` is injected.
   * `connection`: the connection's non-secret config, for schemes the tenant shapes (the header
   * AssemblyAI sends, a custom API's header and encoding); connection level only, optional so
   * adapters that need none ignore it.
   */
  verify(req: InboundWebhook, secrets: readonly string[], now: Date, connection?: WebhookConnection): WebhookVerdict;
  /**
   * A handshake to answer without storing: called for GET requests (Meta's subscription check,
   * given the operator's verify token) and, after `verify` passed, for POSTs (Slack's
   * url_verification, Xero's intent-to-receive with no events). Null: not a handshake.
   */
  handshake?(req: InboundWebhook, ctx: { verifyToken?: string }): WebhookReply | null;
  /**
   * Splits a verified delivery into events. Throws only on a body the provider would never send (→ 400).
   * Each `externalId` comes from what the signature covers (an id in the signed body, else a digest
   * of it): an id header the signature leaves out would let a captured delivery be stored again
   * under a fresh id. `connection`: as for `verify`.
   */
  events(req: InboundWebhook, connection?: WebhookConnection): WebhookEvent[];
  /**
   * Headers the tenant named that carry the signature or the secret (a custom API's signature
   * header, AssemblyAI's auth header): never stored with the event, whatever their name.
   */
  signatureHeaders?(connection?: WebhookConnection): string[];
  /**
   * What a stored event says about a message Keyhold sent through this provider (an email that
   * bounced), read from the event's payload when it is processed. Null: nothing about a message.
   */
  deliveryStatus?(topic: string, payload: unknown): { messageId: string; status: 'bounced' } | null;
};

/**
 * A provider's answer to one call a sync made (through the proxy's rate-limited tenant path).
 * `body` is the parsed JSON (null when the answer was not JSON).
 */
export type SyncAnswer = { status: number; header: HeaderReader; body: unknown };
/**
 * Calls the provider as the connection, path relative to its base URL (credentials and rate limits
 * applied by Keyhold). `headers`: the reader's own request headers (e.g. `If-Modified-Since`);
 * the connection's injected ones (credentials, account headers) always win.
 */
export type SyncCall = (path: string, init?: { headers?: Record<string, string> }) => Promise<SyncAnswer>;
/** A call that may write: method, headers and a body besides the path (same tenant path and limits). */
export type ActionCall = (path: string, init?: { method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; headers?: Record<string, string>; body?: string }) => Promise<SyncAnswer>;

/**
 * A write to the provider as the connection (an action). `input` is validated against `input`'s
 * schema first (a 400 naming the field otherwise, nothing sent). `perform` returns stable data
 * (ids, versions, counts — never the provider's body or message) that is stored with the run
 * and returned again for a repeated idempotency key; it throws ActionError with a stable code.
 */
export type ActionDefinition<I extends Record<string, unknown> = Record<string, unknown>> = {
  input: z.ZodType<I>;
  perform(ctx: {
    input: I;
    call: ActionCall;
    /**
     * The provider-facing key of this send (e.g. an `Idempotency-Key` header, Intuit's requestid),
     * derived from the caller's key, the input and the send attempt: the same while the last
     * outcome is unknown (lost answer, dead process), a new one after the provider refused.
     */
    idempotencyKey: string;
    /** The connection's non-secret config (account ids the API needs in its paths). */
    config: Readonly<Record<string, string>>;
  }): Promise<Record<string, string | number | boolean | null>>;
};

/** Thrown by an action for an answer it cannot use or a refusal; `code` lands in the run's `error_code`. */
export class ActionError extends Error {
  /**
   * `refused`: the provider answered with a refusal (nothing written). Its idempotency cache now
   * holds that refusal, so a retry of the key must send under a new provider-facing key. Without
   * it the outcome is taken as unknown and a retry repeats the same send.
   */
  constructor(readonly code: string, message: string, readonly opts: { refused?: boolean } = {}) {
    super(message);
  }
}

/**
 * One page of a reader. `records` are validated against the definition's schema by the engine;
 * `deleted`: ids the provider reports as deleted (incremental readers whose API says so);
 * `next`: the reader's own position for the next page, null when the run has read everything.
 */
export type SyncPage = { records: Array<{ id: string; data: Record<string, unknown> }>; deleted?: string[]; next: string | null };

/**
 * A reader: copies one model of a connection's account into Keyhold's records store.
 * A run with no checkpoint is full (every record; what it does not see is deleted once it
 * succeeds); with one it is incremental (records changed since the checkpoint).
 */
export type SyncDefinition = {
  /** The records' model name (`GET /api/records/:model`). */
  model: string;
  /** Each record as stored; a record the schema refuses fails the run (the provider changed its shape). */
  schema: z.ZodType<Record<string, unknown>>;
  /** Whether the provider can list changes since a checkpoint; false: every run is full. */
  incremental: boolean;
  /** How often a schedule runs it, in minutes, unless the tenant overrides it per connection (domains/syncs/schedules.ts). */
  defaultFrequencyMinutes: number;
  /**
   * Reconciliation interval: a scheduled or change-notice run is full (and so finds deletes) once
   * the last succeeded full run is older than this; 24 when absent. A reader whose incremental
   * API reports deletes in every run may set it higher.
   */
  fullRunEveryHours?: number;
  /**
   * Reads one page: `page` null starts the run; `checkpoint` null reads everything. `config`: the
   * connection's non-secret config (account ids a path names, e.g. a QuickBooks realm or an
   * Amazon marketplace), never its credentials.
   */
  fetchPage(ctx: { page: string | null; checkpoint: string | null; call: SyncCall; config: Readonly<Record<string, string>> }): Promise<SyncPage>;
  /** A record's checkpoint value (e.g. its UTC modification time); the run keeps the greatest. '' (no time) counts as none. */
  checkpointOf(data: Record<string, unknown>): string;
  /**
   * The reader pages by position (an offset or a page number): a record deleted on a page already
   * read moves the next one onto it, and the run never reads that one. A full run then deletes
   * only what it and the previous succeeded full run both missed (domains/syncs/README.md).
   */
  offsetPaging?: boolean;
};

/** Thrown by a reader for an answer it cannot use; `code` lands in the run's `error_code`. */
export class SyncReadError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
