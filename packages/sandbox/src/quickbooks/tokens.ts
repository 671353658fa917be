import type { Issued } from '../oauth/state.js';
import { SPECS } from '../oauth/specs.js';

const secondsUntil = (at: number, now: number) => Math.max(0, Math.floor((at - now) / 1000));

/**
 * Intuit's token answer. `x_refresh_token_expires_in` is what is left of the refresh token's
 * rolling 100 days (a refresh token handed back unchanged is not extended); the 5-year hard limit
 * `x_refresh_token_hard_expires_in` is sent only to a request that asks for it with
 * `x-include-refresh-token-hard-expires-in: true`, as Intuit's clients do when told to:
 * https://github.com/intuit/oauth-jsclient/blob/master/CHANGELOG.md (4.2.4),
 * https://github.com/intuit/QuickBooks-V3-Java-SDK/releases/tag/v6.5.4,
 * https://blogs.intuit.com/2025/11/12/important-changes-to-refresh-token-policy
 */
export function intuitTokenBody(t: Issued, now: number, includeHardExpiry: boolean): Record<string, unknown> {
  const hardTtl = SPECS.quickbooks.refreshTokenHardTtlSeconds;
  return {
    token_type: 'bearer',
    access_token: t.accessToken,
    refresh_token: t.refreshToken,
    expires_in: t.expiresIn,
    x_refresh_token_expires_in: t.refreshExpiresAt === undefined ? SPECS.quickbooks.refreshTokenTtlSeconds : secondsUntil(t.refreshExpiresAt, now),
    ...(includeHardExpiry && hardTtl !== undefined ? { x_refresh_token_hard_expires_in: secondsUntil(t.grant.createdAt + hardTtl * 1000, now) } : {}),
  };
}
