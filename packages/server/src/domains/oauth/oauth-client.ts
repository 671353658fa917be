import * as oauth from 'oauth4webapi';
import type { OAuthAppConfig } from '../../platform/config.js';
import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import type { OAuthHooks } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import type { OAuthSpec, Provider } from '../catalog/catalog.js';
import { fillTemplate } from '../connections/provider-request.js';
import { TokenRequestError } from './token-error.js';

/** What a token endpoint answered, normalised across providers. */
export type TokenSet = {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
  scope?: string;
};

export { TokenRequestError };

const TIMEOUT_MS = 10_000;
const isLoopback = (url: string) => /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url);

/** Statuses whose responses never have a body (the Fetch standard's "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** Token, revocation and discovery answers are small; a bigger one is refused (unread when it says so). */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * oauth4webapi's HTTP calls, through the provider HTTP client's `request` (undici underneath:
 * about a third of the CPU of the global fetch per token request, which matters when thousands of
 * tokens refresh each minute). The answer is read whole and handed over as a Response built from
 * text: building one around the streaming body cost three times as much again, and these answers
 * are a few hundred bytes. A provider whose answers oauth4webapi (rightly) refuses has its
 * adapter's `tokenResponse` rewrite them into RFC 6749 form first.
 */
const normalizingFetch = (http: Pick<ProviderHttp, 'request'>, rewrite: OAuthHooks['tokenResponse']) => (async (input: string | URL, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  let body: string | null = null;
  if (init.body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    body = init.body.toString();
  } else if (typeof init.body === 'string') body = init.body;
  else if (init.body !== undefined && init.body !== null) throw new TypeError('OAuth requests send form or text bodies');
  const method = (init.method ?? 'GET').toUpperCase();
  const res = await http.request(String(input), { method, headers: Object.fromEntries(headers), body, timeoutMs: TIMEOUT_MS, ...(init.signal ? { signal: init.signal } : {}) });
  if (Number(res.headers['content-length'] ?? 0) > MAX_ANSWER_BYTES) {
    await res.body.dump();
    throw new TypeError('the OAuth server\'s answer is too large');
  }
  const text = await boundedText(res.body);
  const answerHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) answerHeaders.append(name, v);
  }
  const bodiless = NULL_BODY.has(res.statusCode) || method === 'HEAD';
  if (!rewrite || bodiless || !(answerHeaders.get('content-type') ?? '').includes('json')) return new Response(bodiless ? null : text, { status: res.statusCode, headers: answerHeaders });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Response(text, { status: res.statusCode, headers: answerHeaders });
  }
  const answer = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? rewrite({ status: res.statusCode, body: parsed as Record<string, unknown> }) : { status: res.statusCode, body: parsed };
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
}) as typeof fetch;

/** The answer's text, refused once it passes MAX_ANSWER_BYTES (a chunked answer declares no length). */
async function boundedText(body: AsyncIterable<Buffer | Uint8Array> & { destroy?: (err?: Error) => unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy?.();
      throw new TypeError('the OAuth server\'s answer is too large');
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The request and the answer's body within TIMEOUT_MS. A timer cleared when done, not
 * `AbortSignal.timeout()`: that costs about 20 times as much CPU (a transferable signal per call,
 * kept alive until it fires), which showed in profiles of background refreshes at thousands a second.
 */
async function withDeadline<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException('The token request timed out', 'TimeoutError')), TIMEOUT_MS);
  try {
    return await fn(deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

function classify(err: unknown): TokenRequestError {
  if (err instanceof TokenRequestError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    if (err.status >= 500 || err.status === 429) return new TokenRequestError('transient', err.error, err.status);
    return new TokenRequestError(err.error === 'invalid_grant' ? 'invalid_grant' : 'rejected', err.error, err.status);
  }
  if (err instanceof oauth.OperationProcessingError) {
    const status = (err.cause as Response | undefined)?.status;
    if (typeof status === 'number' && (status >= 500 || status === 429)) return new TokenRequestError('transient', undefined, status);
    return new TokenRequestError('rejected', err.code, typeof status === 'number' ? status : undefined);
  }
  // fetch failed, timed out, connection refused…
  return new TokenRequestError('transient', undefined, undefined);
}

/** The platform's OAuth client for every catalog provider, on oauth4webapi. */
export function createOAuthClient(deps: { apps: Record<string, OAuthAppConfig>; http: ProviderHttp }) {
  function spec(provider: Provider): OAuthSpec {
    if (!provider.oauth) throw new AppError('OAUTH_NOT_SUPPORTED', `${provider.displayName} connects with credentials, not OAuth; use POST /api/api-credentials`);
    return provider.oauth;
  }

  function app(provider: Provider): OAuthAppConfig {
    spec(provider);
    const a = deps.apps[provider.id];
    if (!a) {
      const env = `KEYHOLD_OAUTH_${provider.id.toUpperCase().replaceAll('-', '_')}`;
      throw new AppError('OAUTH_NOT_CONFIGURED', `Connecting ${provider.displayName} needs the platform's OAuth app: the operator sets ${env}_CLIENT_ID and ${env}_CLIENT_SECRET`);
    }
    return a;
  }

  /** Authorization server metadata; per-account URLs (`{{field}}` templates) are filled from the connection's config. */
  function server(provider: Provider, config: Record<string, string>): oauth.AuthorizationServer {
    const s = spec(provider);
    const tokenUrl = fillTemplate(s.tokenUrl, config);
    return {
      issuer: new URL(tokenUrl).origin,
      authorization_endpoint: fillTemplate(s.authorizeUrl, config),
      token_endpoint: tokenUrl,
      ...(s.revokeUrl ? { revocation_endpoint: fillTemplate(s.revokeUrl, config) } : {}),
    };
  }

  function options(provider: Provider, as: oauth.AuthorizationServer, signal?: AbortSignal) {
    return {
      signal: signal ?? AbortSignal.timeout(TIMEOUT_MS),
      [oauth.customFetch]: normalizingFetch(deps.http, adapterFor(provider).oauth?.tokenResponse),
      ...(isLoopback(as.token_endpoint!) ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  function clientAuth(provider: Provider) {
    const secret = app(provider).clientSecret.reveal();
    return spec(provider).clientAuth === 'basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret);
  }

  const toTokenSet = (r: oauth.TokenEndpointResponse): TokenSet => ({
    accessToken: r.access_token,
    ...(typeof r.refresh_token === 'string' ? { refreshToken: r.refresh_token } : {}),
    ...(typeof r.expires_in === 'number' ? { expiresIn: r.expires_in } : {}),
    ...(typeof r.scope === 'string' ? { scope: r.scope } : {}),
  });

  return {
    app,
    server,
    /**
     * Exchanges an authorization code (already checked against its state) for tokens; `response`
     * is the token endpoint's whole answer (some name the account the tokens are for).
     */
    async exchangeCode(provider: Provider, config: Record<string, string>, callback: URLSearchParams, redirectUri: string, codeVerifier: string | null): Promise<{ tokens: TokenSet; response: Record<string, unknown> }> {
      const as = server(provider, config);
      const client: oauth.Client = { client_id: app(provider).clientId };
      try {
        const params = oauth.validateAuthResponse(as, client, callback, oauth.skipStateCheck);
        const extra = adapterFor(provider).oauth?.codeExchangeParams?.();
        const res = await oauth.authorizationCodeGrantRequest(as, client, clientAuth(provider), params, redirectUri, codeVerifier ?? oauth.nopkce, {
          ...options(provider, as),
          ...(extra ? { additionalParameters: extra } : {}),
        });
        const response = await oauth.processAuthorizationCodeResponse(as, client, res, { requireIdToken: false });
        return { tokens: toTokenSet(response), response: { ...response } };
      } catch (err) {
        throw classify(err);
      }
    },
    async refresh(provider: Provider, config: Record<string, string>, refreshToken: string): Promise<TokenSet> {
      const as = server(provider, config);
      const client: oauth.Client = { client_id: app(provider).clientId };
      try {
        return await withDeadline(async (signal) => {
          const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth(provider), refreshToken, options(provider, as, signal));
          return toTokenSet(await oauth.processRefreshTokenResponse(as, client, res));
        });
      } catch (err) {
        throw classify(err);
      }
    },
    /**
     * The adapter's grant upgrade (`oauth.upgradeGrant`) with the platform's app credentials;
     * undefined when the provider has none. Errors are TokenRequestErrors.
     */
    async upgrade(provider: Provider, config: Record<string, string>, accessToken: string): Promise<TokenSet | undefined> {
      const hook = adapterFor(provider).oauth?.upgradeGrant;
      if (!hook) return undefined;
      const a = app(provider); // throws OAUTH_NOT_CONFIGURED: an operator has to look
      try {
        return await hook({ provider, config, tokenUrl: server(provider, config).token_endpoint!, accessToken, app: { clientId: a.clientId, clientSecret: a.clientSecret.reveal() }, timeoutMs: TIMEOUT_MS, http: deps.http });
      } catch (err) {
        throw classify(err);
      }
    },
    /** Whether the provider has a grant upgrade and the operator configured its OAuth app. */
    upgradable: (provider: Provider) => Boolean(provider.oauth && adapterFor(provider).oauth?.upgradeGrant && deps.apps[provider.id]),
    /** Revokes a token where the provider has a revocation endpoint; false when it has none. */
    async revoke(provider: Provider, config: Record<string, string>, token: string): Promise<boolean> {
      const s = spec(provider);
      if (!s.revokeUrl) return false;
      const as = server(provider, config);
      const client: oauth.Client = { client_id: app(provider).clientId };
      const own = adapterFor(provider).revoke;
      try {
        if (own) {
          const a = app(provider);
          const status = await own.send({ endpoint: as.revocation_endpoint!, token, clientId: a.clientId, clientSecret: a.clientSecret.reveal(), timeoutMs: TIMEOUT_MS, http: deps.http });
          if (status < 200 || status >= 300) throw new TokenRequestError(status >= 500 ? 'transient' : 'rejected', undefined, status);
          return true;
        }
        await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth(provider), token, options(provider, as)));
        return true;
      } catch (err) {
        throw classify(err);
      }
    },
  };
}
export type OAuthClient = ReturnType<typeof createOAuthClient>;
