import { hash, randomBytes } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { AppError } from '../../platform/errors.js';

/**
 * Access and MFA tokens are HS256 JWTs with the algorithm pinned on verify. Tenant and platform
 * tokens are signed with different keys and carry different audiences, so neither verifies as
 * the other. Every token must carry `exp` and `iat`, and is refused once older than its type's
 * lifetime whatever its `exp` says: a token minted without an expiry never becomes a permanent key.
 */
export const ALG = 'HS256';
export const ISSUER = 'keyhold';
export const ACCESS_TTL_SECONDS = 15 * 60;
export const MFA_TTL_SECONDS = 5 * 60;

export type TokenRealm = 'tenant' | 'platform';
export type TokenType = 'access' | 'mfa';

const audience = (realm: TokenRealm, typ: TokenType) => `keyhold:${realm}${typ === 'mfa' ? ':mfa' : ''}`;
const TTL_SECONDS: Record<TokenType, number> = { access: ACCESS_TTL_SECONDS, mfa: MFA_TTL_SECONDS };

export type AccessClaims = { sub: string; tid?: string; role: string; sid: string };
export type MfaClaims = { sub: string; tid?: string };

export function createTokenSigner(realm: TokenRealm, key: Uint8Array, clock: () => Date) {
  if (key.length < 32) throw new Error('JWT keys must be at least 32 bytes');
  const now = () => Math.floor(clock().getTime() / 1000);

  async function sign(typ: TokenType, claims: Record<string, unknown>, ttl: number) {
    return new SignJWT({ ...claims, typ })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(audience(realm, typ))
      .setIssuedAt(now())
      .setExpirationTime(now() + ttl)
      .sign(key);
  }

  async function verify<T>(typ: TokenType, token: string): Promise<T & { exp: number }> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        issuer: ISSUER,
        audience: audience(realm, typ),
        currentDate: clock(),
        typ: 'JWT',
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: TTL_SECONDS[typ],
      });
      if (payload.typ !== typ) throw new AppError('TOKEN_INVALID', 'The token is not valid here');
      return payload as T & { exp: number };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'The token has expired; refresh it or sign in again');
      throw new AppError('TOKEN_INVALID', 'The token is not valid');
    }
  }

  return {
    signAccess: (c: AccessClaims) => sign('access', c, TTL_SECONDS.access),
    verifyAccess: (t: string) => verify<AccessClaims>('access', t),
    signMfa: (c: MfaClaims) => sign('mfa', c, TTL_SECONDS.mfa),
    verifyMfa: (t: string) => verify<MfaClaims>('mfa', t),
  };
}
export type TokenSigner = ReturnType<typeof createTokenSigner>;

/** An opaque high-entropy secret with a recognisable prefix; only its SHA-256 is stored. */
export function newOpaqueToken(prefix: string, bytes = 32): { token: string; hash: string } {
  const token = `${prefix}${randomBytes(bytes).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

/** One-shot: it runs on every API-key call, where a Hash object per call was a measurable cost. */
export const sha256 = (s: string) => hash('sha256', s, 'hex');
