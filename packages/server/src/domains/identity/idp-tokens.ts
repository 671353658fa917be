import { type JWTPayload, createRemoteJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { IdpConfig } from '../../platform/idp-config.js';

/**
 * Verifies the identity provider's tokens against its JWKS. The key set is fetched on first use
 * and cached (`cacheSeconds`); a token naming a key id the cache lacks makes jose fetch the set
 * again — at most once per `cooldownSeconds`, so a flood of made-up key ids costs the IdP one
 * request per cooldown — which is how a rotated-in key works without a restart, and a key the
 * IdP removed stops verifying once the cache has been refreshed.
 */
export function createIdpTokenVerifier(config: IdpConfig, clock: Clock) {
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
    cooldownDuration: config.jwks.cooldownSeconds * 1000,
    cacheMaxAge: config.jwks.cacheSeconds * 1000,
    timeoutDuration: config.jwks.timeoutMs,
  });

  /**
   * Whether a bearer token claims to come from the identity provider. Read without verifying it:
   * this only decides which verifier gets the token, and that verifier pins the issuer again.
   */
  function claimsIssuer(token: string): boolean {
    try {
      return decodeJwt(token).iss === config.issuer;
    } catch {
      return false;
    }
  }

  async function verify(token: string): Promise<JWTPayload & { sub: string; iat: number }> {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        clockTolerance: config.clockToleranceSeconds,
        currentDate: clock(),
        requiredClaims: ['sub', 'exp', 'iat'],
        maxTokenAge: config.maxTokenAgeSeconds,
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw new AppError('TOKEN_INVALID', 'The token is not valid');
      return payload as JWTPayload & { sub: string; iat: number };
    } catch (err) {
      throw asAppError(err);
    }
  }

  return { claimsIssuer, verify };
}
export type IdpTokenVerifier = ReturnType<typeof createIdpTokenVerifier>;

/** Expired → TOKEN_EXPIRED; the key set unreachable → IDP_UNAVAILABLE (retry later); anything else → TOKEN_INVALID. */
function asAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.JWTExpired) return new AppError('TOKEN_EXPIRED', 'The token has expired; get a new one from your identity provider');
  if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError) || err.code === 'ERR_JOSE_GENERIC') {
    return new AppError('IDP_UNAVAILABLE', 'The identity provider’s signing keys could not be fetched; try again shortly', { cause: err });
  }
  return new AppError('TOKEN_INVALID', 'The token is not valid');
}
