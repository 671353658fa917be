// Its own module (no imports) so provider adapters can throw it without an import cycle.
/**
 * Why a token request failed. `invalid_grant`: the grant is gone (revoked, expired, reused) and
 * only the user can fix it. `transient`: 5xx, 429, timeouts, network — retry later. `rejected`:
 * anything else (e.g. `invalid_client`, a malformed answer) — an operator has to look.
 */
export class TokenRequestError extends Error {
  override name = 'TokenRequestError';
  constructor(readonly kind: 'invalid_grant' | 'transient' | 'rejected', readonly providerError: string | undefined, readonly status: number | undefined) {
    super(`token request failed: ${kind}${providerError ? ` (${providerError})` : ''}${status ? ` HTTP ${status}` : ''}`);
  }
}
