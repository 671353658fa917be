import { createHash } from 'node:crypto';
import { OAUTH_PROVIDERS, randomUuid, randomHex, type OAuthProvider } from './ids.js';
import { SPECS, type ProviderConfig } from './specs.js';

export type OAuthApp = {
  clientId: string; clientSecret: string; redirectUri: string;
  /** Amazon: the solution id on the consent URL, when it differs from the LWA client id. */
  applicationId?: string;
  /** Shopify: when the app was created (ISO date; default: now) and how it is distributed (default public), see shopify/tokens.ts. */
  createdAt?: string; distribution?: 'public' | 'custom';
  /** Xero: an app created before 2 March 2026, which may still request the broad (retired) scopes. */
  legacyScopes?: boolean;
};

/** What one consent (or mintGrant) created: every token issued from it dies with it. */
export type Grant = {
  provider: OAuthProvider;
  clientId: string;
  account: string;
  /** Xero organisations / Facebook Pages the account has. */
  count: number;
  store?: string;
  /** Amazon: the selling region the seller authorised in (tokens work only at that region's endpoint). */
  region?: string;
  scope: string;
  revoked?: string;
  /** Shopify: an expiring offline token (with a refresh token). */
  expiring: boolean;
  ttlSeconds?: number;
  authEventId: string;
  createdAt: number;
  /** LWA keeps one refresh token for the grant's whole life. */
  fixedRefreshToken?: string;
  pageTokens: string[];
  /** Slack: installed on a whole Enterprise Grid organisation (`team: null`). */
  enterprise?: boolean;
};
/** `longLived`: a Facebook user token from `fb_exchange_token` (Page tokens derived from it never expire). */
export type AccessToken = { grant: Grant; expiresAt: number; page?: number; longLived?: boolean; /** Shopify: exchanged for an expiring token (then refused). */ migrated?: { issued: Issued; at: number } };
type RefreshToken = { grant: Grant; expiresAt: number; issuedAt: number; usedAt?: number; replaces?: RefreshToken; retired?: boolean };
type Code = {
  provider: OAuthProvider; clientId: string; redirectUri: string; challenge?: string; expiresAt: number; store?: string; region?: string;
  account: string; count: number; scope: string; used: boolean; grant?: Grant; enterprise?: boolean;
};
export type Issued = { accessToken: string; expiresIn?: number; refreshToken?: string; /** When that refresh token stops working (ms). */ refreshExpiresAt?: number; grant: Grant };
export type GrantError = { error: string; description: string };
export type OAuthStats = { authorizationCode: number; refresh: number; revocations: number; expiredTokenUses: number; unknownTokenUses: number };

const CODE_TTL_MS = 60_000;
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const zeroStats = (): OAuthStats => ({ authorizationCode: 0, refresh: 0, revocations: 0, expiredTokenUses: 0, unknownTokenUses: 0 });
const invalidGrant = (description: string): GrantError => ({ error: 'invalid_grant', description });

/**
 * Every app, code, grant and token of the sandbox's authorization servers. Lookups are by token
 * in Maps, and revoking marks the grant, so a request costs the same with 20,000 grants as with one.
 */
export function createOAuthState() {
  const apps = new Map<string, OAuthApp>();
  const config = new Map<OAuthProvider, ProviderConfig>();
  const codes = new Map<string, Code>();
  const access = new Map<string, AccessToken>();
  const refresh = new Map<string, RefreshToken>();
  const grants = new Map<OAuthProvider, Set<Grant>>();
  const lastAuthorize = new Map<OAuthProvider, Record<string, string>>();
  /** Messenger: the webhook fields the app is subscribed to, by Page id (`POST /{page-id}/subscribed_apps`). */
  const pageSubscriptions = new Map<string, string[]>();
  /** Messenger: Pages whose subscription Graph refuses (a test's fault injection). */
  const refusedPageSubscriptions = new Set<string>();
  let stats = new Map(OAUTH_PROVIDERS.map((p) => [p, zeroStats()]));
  const appKey = (provider: string, id: string) => `${provider}\0${id}`;

  const cfg = (provider: OAuthProvider): ProviderConfig => config.get(provider) ?? SPECS[provider].defaults;

  function issueAccess(grant: Grant, now: number): Pick<Issued, 'accessToken' | 'expiresIn'> {
    const spec = SPECS[grant.provider];
    // Shopify's offline tokens and Slack's bot tokens (without rotation) never expire.
    const nonExpiring = (grant.provider === 'shopify' && !grant.expiring) || grant.provider === 'slack';
    const ttl = nonExpiring ? undefined : (grant.ttlSeconds ?? cfg(grant.provider).accessTokenTtlSeconds);
    const accessToken = spec.newAccessToken();
    access.set(accessToken, { grant, expiresAt: ttl === undefined ? Infinity : now + ttl * 1000 });
    return { accessToken, ...(ttl === undefined ? {} : { expiresIn: ttl }) };
  }

  function issueRefresh(grant: Grant, now: number, replaces?: RefreshToken): { token: string; expiresAt: number } {
    const spec = SPECS[grant.provider];
    const token = spec.newRefreshToken();
    const ttl = spec.refreshTokenTtlSeconds;
    const hard = spec.refreshTokenHardTtlSeconds === undefined ? Infinity : grant.createdAt + spec.refreshTokenHardTtlSeconds * 1000;
    const expiresAt = Math.min(ttl === undefined ? Infinity : now + ttl * 1000, hard);
    refresh.set(token, { grant, expiresAt, issuedAt: now, ...(replaces ? { replaces } : {}) });
    return { token, expiresAt };
  }

  const hasRefreshToken = (g: Grant) =>
    g.provider === 'xero' ? g.scope.split(/\s+/).includes('offline_access')
      : g.provider === 'shopify' ? g.expiring
        : g.provider !== 'messenger';

  function createGrant(g: Omit<Grant, 'authEventId' | 'createdAt' | 'pageTokens' | 'fixedRefreshToken'>, now: number): Issued {
    const grant: Grant = { ...g, authEventId: randomUuid(), createdAt: now, pageTokens: [] };
    if (grant.provider === 'messenger') {
      for (let page = 0; page < grant.count; page++) {
        const token = `EAA${randomHex(44)}`;
        grant.pageTokens.push(token);
        access.set(token, { grant, expiresAt: Infinity, page });
      }
    }
    let set = grants.get(grant.provider);
    if (!set) grants.set(grant.provider, (set = new Set()));
    set.add(grant);
    const r = hasRefreshToken(grant) ? issueRefresh(grant, now) : undefined;
    if (r && !SPECS[grant.provider].rotatesRefreshTokens) grant.fixedRefreshToken = r.token;
    return { ...issueAccess(grant, now), ...(r ? { refreshToken: r.token, refreshExpiresAt: r.expiresAt } : {}), grant };
  }

  return {
    cfg,
    configure(provider: OAuthProvider, patch: Partial<ProviderConfig>) {
      config.set(provider, { ...cfg(provider), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) });
    },
    registerApp(provider: OAuthProvider, app: OAuthApp) {
      apps.set(appKey(provider, app.clientId), { ...app });
      if (app.applicationId) apps.set(appKey(`${provider}#application`, app.applicationId), { ...app });
    },
    /** The app an authorize URL names (Seller Central names it by application id, else client id). */
    appForAuthorize: (provider: OAuthProvider, id: string) => apps.get(appKey(`${provider}#application`, id)) ?? apps.get(appKey(provider, id)),
    app: (provider: OAuthProvider, clientId: string) => apps.get(appKey(provider, clientId)),
    firstApp: (provider: OAuthProvider) => [...apps.entries()].find(([k]) => k.startsWith(`${provider}\0`))?.[1],
    lastAuthorize,
    stats: (provider: OAuthProvider) => stats.get(provider)!,
    allStats: () => Object.fromEntries([...stats].map(([p, s]) => [p, { ...s }])) as Record<OAuthProvider, OAuthStats>,
    resetStats: () => void (stats = new Map(OAUTH_PROVIDERS.map((p) => [p, zeroStats()]))),

    createCode(c: Omit<Code, 'expiresAt' | 'used' | 'grant'>, now: number): string {
      const code = randomHex(24);
      codes.set(code, { ...c, expiresAt: now + CODE_TTL_MS, used: false });
      return code;
    },

    redeemCode(provider: OAuthProvider, p: { code: string; clientId: string; redirectUri?: string; verifier?: string; store?: string; expiring: boolean }, now: number): Issued | GrantError {
      const spec = SPECS[provider];
      const c = codes.get(p.code);
      if (!c || c.provider !== provider) return invalidGrant('The authorization code is unknown');
      if (c.used) {
        // RFC 6749 §4.1.2: a replayed code may have leaked, so what it bought is revoked.
        if (c.grant && !c.grant.revoked) c.grant.revoked = 'The authorization code was used twice; its grant was revoked';
        return invalidGrant('The authorization code has already been used');
      }
      if (c.clientId !== p.clientId) return invalidGrant('The authorization code was issued to another client');
      c.used = true;
      if (now >= c.expiresAt) return invalidGrant('The authorization code has expired');
      if (c.store !== p.store) return invalidGrant('The authorization code was issued for another store');
      if (spec.redirectUriAtToken ? p.redirectUri !== c.redirectUri : p.redirectUri !== undefined && p.redirectUri !== c.redirectUri) {
        return invalidGrant('redirect_uri does not match the one of the authorization request');
      }
      if (spec.pkce) {
        if (c.challenge === undefined && p.verifier !== undefined) return invalidGrant('code_verifier sent, but the authorization request had no code_challenge');
        if (c.challenge !== undefined && (p.verifier === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(p.verifier) || s256(p.verifier) !== c.challenge)) {
          return invalidGrant('PKCE verification failed: code_verifier does not match code_challenge');
        }
      }
      const issued = createGrant({ provider, clientId: c.clientId, account: c.account, count: c.count, scope: c.scope, expiring: p.expiring, ...(c.store ? { store: c.store } : {}), ...(c.enterprise ? { enterprise: true } : {}), ...(c.region ? { region: c.region } : {}) }, now);
      c.grant = issued.grant;
      stats.get(provider)!.authorizationCode++;
      return issued;
    },

    useRefreshToken(provider: OAuthProvider, p: { token: string; clientId: string; store?: string }, now: number): Issued | GrantError {
      const r = refresh.get(p.token);
      if (!r || r.grant.provider !== provider) return invalidGrant('The refresh token is unknown');
      const g = r.grant;
      if (g.clientId !== p.clientId) return invalidGrant('The refresh token was issued to another client');
      if (g.store !== p.store) return invalidGrant('The refresh token was issued for another store');
      if (g.revoked) return invalidGrant(g.revoked);
      if (now >= r.expiresAt) return invalidGrant('The refresh token has expired');
      let next = g.fixedRefreshToken ? { token: g.fixedRefreshToken, expiresAt: r.expiresAt } : undefined;
      const reuseMs = cfg(provider).refreshTokenReuseSeconds * 1000;
      if (!next && r.usedAt === undefined && now - r.issuedAt < reuseMs) {
        // Intuit hands the same refresh token back for about a day, its expiry not extended:
        // https://github.com/intuit/oauth-jsclient/issues/74
        next = { token: p.token, expiresAt: r.expiresAt };
      }
      if (!next) {
        const graceMs = cfg(provider).refreshGraceSeconds * 1000;
        if (r.retired || (r.usedAt !== undefined && now - r.usedAt >= graceMs)) return invalidGrant('The refresh token has already been used');
        r.usedAt ??= now;
        // Using a replacement retires the token it replaced (and so ends that token's grace).
        if (SPECS[provider].graceEndsWhenReplacementUsed && r.replaces) r.replaces.retired = true;
        next = issueRefresh(g, now, r);
      }
      stats.get(provider)!.refresh++;
      return { ...issueAccess(g, now), refreshToken: next.token, refreshExpiresAt: next.expiresAt, grant: g };
    },

    /** RFC 7009: a token of another client is refused; an unknown one is silently accepted. */
    revokeToken(provider: OAuthProvider, token: string, clientId: string): 'revoked' | 'unknown' | 'other_client' {
      const g = refresh.get(token)?.grant ?? access.get(token)?.grant;
      if (!g || g.provider !== provider) return 'unknown';
      if (g.clientId !== clientId) return 'other_client';
      g.revoked ??= 'The grant was revoked';
      stats.get(provider)!.revocations++;
      return 'revoked';
    },

    revokeAll(provider: OAuthProvider, account?: string) {
      for (const g of grants.get(provider) ?? []) if (account === undefined || g.account === account) g.revoked ??= 'The grant was revoked by the user';
    },

    createGrant,
    pageSubscriptions,
    refusedPageSubscriptions,

    /** Another access token of `grant` (Facebook's long-lived user token and Page tokens). */
    issueAccessToken(grant: Grant, opts: { expiresAt: number; page?: number; longLived?: boolean }): string {
      const token = SPECS[grant.provider].newAccessToken();
      access.set(token, { grant, expiresAt: opts.expiresAt, ...(opts.page !== undefined ? { page: opts.page } : {}), ...(opts.longLived ? { longLived: true } : {}) });
      return token;
    },

    checkAccess(provider: OAuthProvider, token: string | undefined, now: number): { access: AccessToken } | { reason: 'unknown' | 'expired' | 'revoked' } {
      const a = token === undefined ? undefined : access.get(token);
      if (!a || a.grant.provider !== provider) return { reason: 'unknown' };
      if (now >= a.expiresAt) return { reason: 'expired' };
      if (a.grant.revoked || a.migrated) return { reason: 'revoked' };
      return { access: a };
    },
    isKnownAccessToken: (token: string | undefined) => token !== undefined && access.has(token),
    /** Whether this refresh token was used (a migration retry no longer answers once its pair was refreshed). */
    refreshUsed: (token: string | undefined) => token !== undefined && refresh.get(token)?.usedAt !== undefined,
    /** The same access token, valid for a full lifetime again (a migration retry answers the same pair). */
    extendAccess(t: Issued, now: number): { expiresIn?: number } {
      const a = access.get(t.accessToken);
      const ttl = cfg(t.grant.provider).accessTokenTtlSeconds;
      if (a) a.expiresAt = now + ttl * 1000;
      return { expiresIn: ttl };
    },
    /** The access token's record (Shopify's token exchange reads and marks it). */
    accessRecord: (token: string) => access.get(token),
    /** Shopify keeps one expiring offline token per app and store: a new one revokes the others. */
    revokeOtherExpiring(grant: Grant) {
      for (const g of grants.get(grant.provider) ?? []) if (g !== grant && g.expiring && g.clientId === grant.clientId && g.store === grant.store) g.revoked ??= 'A newer expiring offline token was issued for this store';
    },
    countRejected(provider: OAuthProvider, reason: 'unknown' | 'expired' | 'revoked') {
      const s = stats.get(provider)!;
      if (reason === 'expired') s.expiredTokenUses++;
      else s.unknownTokenUses++;
    },
  };
}
export type OAuthState = ReturnType<typeof createOAuthState>;
