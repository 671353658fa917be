import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { OAuthChoice, OAuthStatesTable } from '../../platform/db/schema.js';
import type { Selectable } from 'kysely';
import type { Tenancy } from '../../platform/db/tenancy.js';
import type { Actor } from '../../platform/context.js';
import type { ConnectSessionCompletion } from '../connect-sessions/completion.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Logger } from '../../platform/logger.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import type { ConnectionStore } from '../connections/store.js';
import { fillTemplate } from '../connections/provider-request.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { Vault } from '../vault/vault.service.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import type { Account, OAuthContext } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import { type OAuthClient, type TokenSet, TokenRequestError } from './oauth-client.js';
import type { OAuthRepo } from './oauth.repo.js';

export const STATE_TTL_MS = 10 * 60_000;
const VERIFIER_PURPOSE = 'oauth_state.code_verifier';
const PENDING_PURPOSE = 'oauth_pending.secrets';

export const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
/** The browser-binding cookie is per state, so two flows in one browser do not collide. */
export const bindingCookieName = (state: string) => `keyhold_oauth_${sha256(state).slice(0, 16)}`;

const Label = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'letters, digits, space, . _ -; up to 63 characters');
export const AuthorizeInput = z.object({
  label: Label.default('default'),
  returnTo: z.string().max(500).optional(),
  shop: z.string().max(255).optional().describe('The store domain, for providers that connect one store at a time'),
  region: z.enum(['na', 'eu', 'fe']).optional().describe('The selling region, for providers with regional accounts'),
  marketplaceId: z.string().regex(/^[A-Z0-9]{10,14}$/).optional().describe('The marketplace id, for providers with marketplaces'),
});

/** Only a path of Keyhold's own admin UI: no scheme, no host, no `//` or `\` tricks. */
export function safeReturnTo(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const ok = /^\/admin(\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(value) && !value.includes('//') && !value.includes('\\');
  if (!ok) throw new AppError('VALIDATION_FAILED', "returnTo must be a path of Keyhold's admin UI, starting with /admin");
  return value;
}

export type AuthorizeDeps = {
  repo: OAuthRepo;
  /** The one writer of connections (routing key, quota, events). */
  store: Pick<ConnectionStore, 'byProviderLabel' | 'create' | 'update' | 'conflictOf'>;
  tenancy: Tenancy;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  catalog: Pick<Catalog, 'get'>;
  client: OAuthClient;
  /** Handed to the provider's adapter for account discovery. */
  http: ProviderHttp;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  /** Handed to the provider's adapter for what fails without failing the connect. */
  log?: Pick<Logger, 'warn'>;
  /** Where browsers reach Keyhold; the redirect URI is `<publicUrl>/api/integrations/<provider>/callback`. */
  publicUrl: string;
  /** Hosted Connect (domains/connect-sessions): a flow started from a Connect page completes its session. */
  connectSessions?: ConnectSessionCompletion;
};


/** Where the browser lands after an OAuth flow started from a Connect page. */
export const CONNECT_DONE_PATH = '/connect/done';

type CallbackOutcome = { redirect: string };
type OAuthStateRow = Selectable<OAuthStatesTable>;

export function createAuthorizeService(deps: AuthorizeDeps) {
  const { repo, tenancy, vault, catalog, client, audit } = deps;
  const redirectUriFor = (provider: Provider) => `${deps.publicUrl}/api/integrations/${provider.id}/callback`;
  const ctxFor = (provider: Provider, params: Record<string, string>): OAuthContext => {
    const app = client.app(provider);
    return { provider, params, app: { clientId: app.clientId, clientSecret: app.clientSecret.reveal(), ...(app.applicationId ? { applicationId: app.applicationId } : {}) }, now: deps.clock(), http: deps.http, ...(deps.log ? { log: deps.log } : {}) };
  };
  const invalidState = (why: string) => new AppError('OAUTH_STATE_INVALID', `This connection attempt cannot be completed: ${why}. Start connecting again`);

  /** Starts a connection: returns the provider's consent URL and the browser-binding cookie. */
  async function start(p: TenantPrincipal, providerId: string, input: z.input<typeof AuthorizeInput>) {
    assertRole(p, 'admin');
    if (!p.userId) throw new AppError('FORBIDDEN', 'Connecting an account by OAuth needs a signed-in user (a browser), not an API key');
    const data = AuthorizeInput.parse(input);
    return begin(p, { userId: p.userId }, providerId, data, safeReturnTo(data.returnTo));
  }

  /**
   * Starts a connection for a Connect session's end user (no Keyhold user): the state carries the
   * session, and the callback completes it and returns the browser to the Connect page.
   */
  async function startForConnectSession(p: { tenantId: string; actor: Actor }, sessionId: string, providerId: string, input: z.input<typeof AuthorizeInput>) {
    const data = AuthorizeInput.parse({ ...input, returnTo: undefined });
    return begin(p, { connectSessionId: sessionId }, providerId, data, CONNECT_DONE_PATH);
  }

  async function begin(p: { tenantId: string; actor: Actor }, who: { userId?: string; connectSessionId?: string }, providerId: string, data: z.output<typeof AuthorizeInput>, returnTo: string | null) {
    const provider = catalog.get(providerId);
    const hooks = adapterFor(provider).oauth;
    const params = hooks?.authorizeParams?.(data) ?? {};
    const ctx = ctxFor(provider, params);
    const spec = provider.oauth!;

    const state = oauth.generateRandomState();
    const browser = randomBytes(32).toString('base64url');
    const verifier = spec.pkce === false ? null : oauth.generateRandomCodeVerifier();
    const url = new URL(fillTemplate(spec.authorizeUrl, params));
    url.searchParams.set('client_id', ctx.app.clientId);
    url.searchParams.set('redirect_uri', redirectUriFor(provider));
    url.searchParams.set('response_type', 'code');
    // The operator's scopes for this app win over the catalog's (what an app may request can depend on the app).
    const scopes = client.app(provider).scopes ?? spec.scopes;
    if (scopes.length) url.searchParams.set('scope', scopes.join(spec.scopeSeparator ?? ' '));
    for (const [k, v] of Object.entries(spec.authorizeParams ?? {})) url.searchParams.set(k, v);
    url.searchParams.set('state', state);
    if (verifier) {
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    hooks?.authorizeUrl?.(url, ctx);

    const id = randomUUID();
    await tenancy.withTenant(p.tenantId, async (tx) => {
      await repo.insertState(tx, {
        id,
        state_hash: sha256(state),
        tenant_id: p.tenantId,
        user_id: who.userId ?? null,
        connect_session_id: who.connectSessionId ?? null,
        provider: provider.id,
        label: data.label,
        browser_hash: sha256(browser),
        code_verifier: verifier ? await vault.encrypt(tx, VERIFIER_PURPOSE, id, verifier) : null,
        redirect_uri: redirectUriFor(provider),
        return_to: returnTo,
        params: JSON.stringify(params),
        expires_at: new Date(deps.clock().getTime() + STATE_TTL_MS),
      });
      await audit.record(p, { action: 'oauth.authorize_started', metadata: { serviceName: provider.id, label: data.label, ...(who.connectSessionId ? { connectSession: who.connectSessionId } : {}) } }, tx);
    });
    return {
      authUrl: url.toString(),
      cookie: { name: bindingCookieName(state), value: browser, path: `/api/integrations/${provider.id}/callback`, maxAgeSeconds: STATE_TTL_MS / 1000, secure: deps.publicUrl.startsWith('https:') },
    };
  }

  /**
   * The provider's redirect back. The state is the only credential: it must exist, be unexpired,
   * unused, issued for this provider, and match the browser-binding cookie. It is deleted first,
   * so a replayed callback finds nothing.
   */
  async function callback(providerId: string, query: Record<string, string>, cookies: Record<string, string | undefined>): Promise<CallbackOutcome> {
    const provider = catalog.get(providerId);
    const state = query.state;
    if (!state || state.length > 512) throw invalidState('the state is missing');
    const stateHash = sha256(state);
    const tenantId = await repo.stateTenant(stateHash);
    if (!tenantId) throw invalidState('it is unknown, expired or already used');
    const claimed = await tenancy.withTenant(tenantId, async (tx) => {
      const row = await repo.consumeState(tx, stateHash);
      if (!row) return null;
      const verifier = row.code_verifier ? (await vault.decrypt(tx, VERIFIER_PURPOSE, row.id, row.code_verifier)).reveal() : null;
      return { row, verifier };
    });
    if (!claimed) throw invalidState('it is unknown, expired or already used');
    const { row } = claimed;
    const sessionId = row.connect_session_id ?? null;
    try {
      return await finishCallback(provider, query, cookies, state, row, claimed.verifier);
    } catch (err) {
      // An end user on a Connect page goes back to it (never to the console) and reads why there.
      if (sessionId && err instanceof AppError) throw new AppError(err.code, err.message, { status: err.httpStatus, actions: [{ label: 'Back', url: `${CONNECT_DONE_PATH}?error=${err.code}` }] });
      throw err;
    }
  }

  async function finishCallback(provider: Provider, query: Record<string, string>, cookies: Record<string, string | undefined>, state: string, row: OAuthStateRow, verifier: string | null): Promise<CallbackOutcome> {
    const claimed = { verifier };
    const tenantId = row.tenant_id;
    const sessionId = row.connect_session_id ?? null;
    // A Connect page's flow acts for whoever opened the session; `begin` below names it.
    const principal = { tenantId, actor: sessionId ? { type: 'api_key' as const, id: null } : { type: 'user' as const, id: row.user_id } };
    if (row.provider !== provider.id) throw invalidState('it was issued for another provider');
    if (row.expires_at.getTime() < deps.clock().getTime()) throw invalidState('it has expired');
    const cookie = cookies[bindingCookieName(state)];
    if (!cookie || !timingSafeEqual(Buffer.from(sha256(cookie)), Buffer.from(row.browser_hash))) throw invalidState('it was started in another browser');

    const done = (qs: string) => ({ redirect: withQuery(row.return_to ?? '/admin/integrations', qs) });
    if (query.error) {
      await audit.record(principal, { action: 'oauth.denied', metadata: { serviceName: provider.id, label: row.label, error: query.error.slice(0, 64) } });
      throw new AppError('OAUTH_ACCESS_DENIED', `${provider.displayName} did not grant access (${query.error.slice(0, 64)})`, { actions: [{ label: 'Try again', url: `/admin/integrations?connect=${provider.id}` }] });
    }
    const hooks = adapterFor(provider).oauth;
    const ctx = ctxFor(provider, row.params);
    const callbackParams = hooks?.callback ? hooks.callback(query, ctx) : new URLSearchParams(query);
    let tokens: TokenSet;
    let response: Record<string, unknown>;
    try {
      ({ tokens, response } = await client.exchangeCode(provider, row.params, callbackParams, row.redirect_uri, claimed.verifier));
    } catch (err) {
      if (!(err instanceof TokenRequestError)) throw err;
      await audit.record(principal, { action: 'oauth.exchange_failed', metadata: { serviceName: provider.id, label: row.label, reason: err.kind, providerError: err.providerError ?? null } });
      throw new AppError('OAUTH_EXCHANGE_FAILED', `${provider.displayName} did not accept the authorization; start connecting again`);
    }
    // Without an adapter saying otherwise, the tokens are for one account the provider does not name.
    const accounts = hooks?.accounts ? await hooks.accounts({ tokens, response, query }, ctx) : [{ id: null, name: provider.displayName, config: {} }];
    if (accounts.length === 0) throw new AppError('OAUTH_CALLBACK_INVALID', `No ${provider.displayName} account was authorised`);
    if (accounts.length > 1 && sessionId) {
      // The account picker belongs to the admin console; a Connect page connects one account.
      throw new AppError('OAUTH_CALLBACK_INVALID', `Several ${provider.displayName} accounts were authorised; authorise one account at a time here`);
    }
    if (accounts.length > 1) {
      const pendingId = randomUUID();
      await tenancy.withTenant(tenantId, async (tx) => {
        await repo.insertPending(tx, {
          id: pendingId,
          tenant_id: tenantId,
          user_id: row.user_id!,
          provider: provider.id,
          label: row.label,
          secrets: await vault.encrypt(tx, PENDING_PURPOSE, pendingId, JSON.stringify({ tokens, accounts })),
          choices: JSON.stringify(accounts.map((a): OAuthChoice => ({ id: a.id!, name: a.name }))),
          return_to: row.return_to,
          expires_at: new Date(deps.clock().getTime() + STATE_TTL_MS),
        });
      });
      return done(`${provider.id}=choose&pending=${pendingId}`);
    }
    const saved = await saveAccount(principal, provider, row.label, accounts[0]!, tokens, sessionId ? { connectSessionId: sessionId } : {});
    return done(sessionId ? `session=${row.connect_session_id}&connection=${saved.id}` : `${provider.id}=configured`);
  }

  /** The accounts waiting for the user's choice (only the user who connected sees them). */
  async function pending(p: TenantPrincipal, id: string) {
    assertRole(p, 'admin');
    const row = await tenancy.withTenant(p.tenantId, (tx) => repo.pending(tx, id));
    if (!row || row.user_id !== p.userId || row.expires_at < deps.clock()) throw new AppError('NOT_FOUND', 'Nothing is waiting for a choice here; start connecting again');
    return { id: row.id, provider: row.provider, label: row.label, choices: row.choices, expiresAt: row.expires_at.toISOString() };
  }

  async function choose(p: TenantPrincipal, id: string, choiceId: string) {
    assertRole(p, 'admin');
    const got = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await repo.consumePending(tx, id);
      if (!row || row.user_id !== p.userId || row.expires_at < deps.clock()) return null;
      return { row, data: JSON.parse((await vault.decrypt(tx, PENDING_PURPOSE, row.id, row.secrets)).reveal()) as { tokens: TokenSet; accounts: Account[] } };
    });
    if (!got) throw new AppError('NOT_FOUND', 'Nothing is waiting for a choice here; start connecting again');
    const account = got.data.accounts.find((a) => a.id === choiceId);
    if (!account) throw new AppError('VALIDATION_FAILED', 'choiceId: not one of the offered accounts; start connecting again');
    const provider = catalog.get(got.row.provider);
    const saved = await saveAccount(p, provider, got.row.label, account, got.data.tokens);
    return { connectionId: saved.id, provider: provider.id, label: got.row.label, returnTo: withQuery(got.row.return_to ?? '/admin/integrations', `${provider.id}=configured`) };
  }

  /**
   * Stores the tokens for one account. Reconnecting (same provider + label) keeps the connection
   * id; the routing key (derived by the store from the account's config) refuses an account
   * another connection already holds.
   */
  async function saveAccount(p: { tenantId: string; actor: TenantPrincipal['actor'] }, provider: Provider, label: string, account: Account, tokens: TokenSet, opts: { connectSessionId?: string } = {}) {
    const secrets = account.secrets ?? { accessToken: tokens.accessToken, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) };
    const expiresAt = account.neverExpires || account.secrets || tokens.expiresIn === undefined ? null : new Date(deps.clock().getTime() + tokens.expiresIn * 1000);
    const sessionId = opts.connectSessionId;
    try {
      return await tenancy.withTenant(p.tenantId, async (tx) => {
        if (sessionId) {
          if (!deps.connectSessions) throw new Error('Connect sessions are not wired');
          p = { tenantId: p.tenantId, actor: (await deps.connectSessions.begin(tx, sessionId)).actor };
        }
        const detail = { source: 'oauth' as const, by: { type: p.actor.type, id: p.actor.id }, account: account.name.slice(0, 200) };
        const existing = await deps.store.byProviderLabel(tx, provider.id, label, { lock: true });
        const saved = existing
          ? (await deps.store.update(tx, existing, {
              secrets,
              config: { ...existing.config, ...account.config },
              authMode: provider.authMode,
              tokenExpiresAt: expiresAt,
              resetRefresh: true,
            }, { reason: 'reconnected', detail, to: 'active' }))!
          : await deps.store.create(tx, { tenantId: p.tenantId, provider, label, secrets, config: account.config, status: 'active', createdBy: p.actor.id, tokenExpiresAt: expiresAt }, detail);
        if (sessionId) await deps.connectSessions!.finish(tx, sessionId, saved.id);
        await audit.record(p, { action: 'oauth.connected', entity: { type: 'connection', id: saved.id }, metadata: { serviceName: provider.id, label, account: account.id, reconnect: Boolean(existing), ...(sessionId ? { connectSession: sessionId } : {}) } }, tx);
        return saved;
      });
    } catch (err) {
      throw deps.store.conflictOf(err, provider, label) ?? err;
    }
  }

  /** Deletes expired states and abandoned choices (all tenants; a job). */
  const purgeExpired = () => repo.purgeExpired(deps.clock());

  return { start, startForConnectSession, callback, pending, choose, saveAccount, redirectUriFor, purgeExpired };
}
export type AuthorizeService = ReturnType<typeof createAuthorizeService>;

const withQuery = (path: string, qs: string) => `${path}${path.includes('?') ? '&' : '?'}${qs}`;
