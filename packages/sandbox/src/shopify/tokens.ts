import type { Reply } from '../providers.js';
import { json } from '../oauth/http.js';
import type { GrantError, Issued, OAuthApp, OAuthState } from '../oauth/state.js';

const DAY_MS = 86_400_000;
/** Public apps created on or after this day must use expiring offline tokens for Admin API calls. */
export const NEW_PUBLIC_APPS_FROM = Date.parse('2026-04-01T00:00:00Z');
/** From this day every public app must. */
export const ALL_PUBLIC_APPS_FROM = Date.parse('2027-01-01T00:00:00Z');

/**
 * Whether Shopify refuses this app's non-expiring offline tokens on Admin API (REST and GraphQL)
 * calls. Custom apps and apps created by merchants are exempt.
 * https://shopify.dev/changelog/expiring-offline-access-tokens-required-for-public-apps-april-1-2026
 * https://shopify.dev/changelog/expiring-offline-access-tokens-required-for-all-public-apps-as-of-january-1-2027
 */
export function refusesNonExpiring(app: Pick<OAuthApp, 'createdAt' | 'distribution'> | undefined, now: number): boolean {
  if (app?.distribution === 'custom') return false;
  const created = app?.createdAt === undefined ? now : Date.parse(app.createdAt);
  return created >= NEW_PUBLIC_APPS_FROM || now >= ALL_PUBLIC_APPS_FROM;
}

/**
 * The refusal as Shopify sends it. The pages above say only "error responses"; the 403 and this
 * body are what apps report receiving (https://github.com/Shopify/shopify-app-js/issues/3234,
 * https://github.com/megaapp977/stack/issues/654).
 */
export const nonExpiringRefused = (): Reply => json(403, {
  errors: '[API] Non-expiring access tokens are no longer accepted for the Admin API. Start using expiring offline tokens: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens#expiring-vs-non-expiring-offline-tokens',
});

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const OFFLINE_ACCESS_TOKEN = 'urn:shopify:params:oauth:token-type:offline-access-token';
const MIGRATION_RETRY_MS = 7 * DAY_MS;

/**
 * Migration of a non-expiring offline token to an expiring one (token exchange with `expiring=1`,
 * @shopify/shopify-api's `auth.migrateToExpiringToken`). The old token stops working; a retry with
 * it within 7 days answers the same pair, until that pair is refreshed or replaced.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens#migrating-from-non-expiring-to-expiring-tokens
 * https://shopify.dev/changelog/more-resilient-token-exchanges-when-migrating-tokens-without-a-user-session
 */
export function migrateToExpiring(state: OAuthState, p: Record<string, string>, app: OAuthApp, store: string | undefined, now: number): Issued | GrantError {
  const invalid = (description: string): GrantError => ({ error: 'invalid_grant', description });
  if (p.subject_token_type !== OFFLINE_ACCESS_TOKEN || p.requested_token_type !== OFFLINE_ACCESS_TOKEN || p.expiring !== '1') {
    return { error: 'invalid_request', description: 'Only an offline access token can be exchanged, for an expiring offline access token (expiring=1)' };
  }
  const old = state.accessRecord(p.subject_token ?? '');
  if (!old || old.grant.provider !== 'shopify' || old.grant.clientId !== app.clientId || old.grant.store !== store) return invalid('The subject token is unknown');
  if (old.grant.expiring) return invalid('The subject token already expires');
  if (old.migrated) {
    const pair = old.migrated.issued;
    const replaced = pair.grant.revoked !== undefined || state.refreshUsed(pair.refreshToken);
    if (now - old.migrated.at < MIGRATION_RETRY_MS && !replaced) return { ...pair, ...state.extendAccess(pair, now) };
    return invalid('The subject token was already exchanged');
  }
  if (old.grant.revoked) return invalid(old.grant.revoked);
  const issued = state.createGrant({ provider: 'shopify', clientId: app.clientId, account: old.grant.account, count: 1, scope: old.grant.scope, expiring: true, ...(store ? { store } : {}) }, now);
  state.revokeOtherExpiring(issued.grant);
  old.migrated = { issued, at: now };
  return issued;
}
