import type { JWTPayload } from 'jose';
import { z } from 'zod';
import type { UserRole } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import type { IdpConfig } from '../../platform/idp-config.js';
import { ROLE_RANK } from './principal.js';

/** What a verified IdP token says, in Keyhold's terms. */
export type IdpIdentity = {
  issuer: string;
  subject: string;
  /** The organisation as the IdP names it (its id or slug, per KEYHOLD_IDP_ORG_MATCH). */
  org: string;
  role: UserRole;
  /** Needed only to create the user on first sight. */
  email?: string;
  /** The token shows a recent multi-factor authentication that KEYHOLD_IDP_AMR_SATISFIES_MFA accepts. */
  mfa: boolean;
};

const Email = z.string().trim().toLowerCase().email().max(254);

/**
 * A claim by its configured name: the claim of exactly that name (namespaced claims such as
 * `https://example.com/org` contain dots), else the dotted path into nested claims (`o.id`).
 */
export function claimAt(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let at: unknown = payload;
  for (const part of name.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

const missing = (name: string, what: string) => new AppError('IDP_CLAIM_MISSING', `The identity provider's token has no ${what} (claim '${name}')`);

/**
 * Maps a verified token to an identity. The role claim is read on every request: a role changed
 * in the IdP applies with the next token. A claim holding several values (a list of roles) gives
 * the highest role any of them maps to; values the map does not know are ignored, and a token
 * none of whose values maps is refused.
 */
export function identityFrom(payload: JWTPayload & { sub: string; iat: number }, config: IdpConfig, now: Date): IdpIdentity {
  const org = claimAt(payload, config.claims.org);
  if (typeof org !== 'string' || org.length === 0 || org.length > 255) throw missing(config.claims.org, 'organisation');

  const rawRole = claimAt(payload, config.claims.role);
  const values = (Array.isArray(rawRole) ? rawRole : [rawRole]).filter((v): v is string => typeof v === 'string');
  if (values.length === 0) throw new AppError('IDP_ROLE_UNMAPPED', `The identity provider's token has no role (claim '${config.claims.role}')`);
  const mapped = values.flatMap((v) => (Object.hasOwn(config.roleMap, v) ? [config.roleMap[v]!] : []));
  if (mapped.length === 0) throw new AppError('IDP_ROLE_UNMAPPED', `The role '${values.join(', ').slice(0, 100)}' has no Keyhold role (KEYHOLD_IDP_ROLE_MAP)`);
  const role = mapped.reduce((a, b) => (ROLE_RANK[b] > ROLE_RANK[a] ? b : a));

  const rawEmail = Email.safeParse(claimAt(payload, config.claims.email));
  return {
    issuer: config.issuer,
    subject: payload.sub,
    org,
    role,
    ...(rawEmail.success ? { email: rawEmail.data } : {}),
    mfa: mfaSatisfied(payload, config, now),
  };
}

/**
 * `amr` (RFC 8176) names how the user authenticated; it counts for step-up only when it holds an
 * accepted value and that authentication is recent: `auth_time` when the token has one, else
 * `iat`. An IdP that re-issues tokens carrying an old sign-in's `amr` without `auth_time` would
 * make every token look fresh — docs/identity-provider.md says to enable this only where it does not.
 */
function mfaSatisfied(payload: JWTPayload, config: IdpConfig, now: Date): boolean {
  if (config.amrSatisfiesMfa.length === 0 || !Array.isArray(payload.amr)) return false;
  if (!payload.amr.some((m) => typeof m === 'string' && config.amrSatisfiesMfa.includes(m))) return false;
  const at = typeof payload.auth_time === 'number' ? payload.auth_time : payload.iat;
  if (typeof at !== 'number') return false;
  const age = now.getTime() / 1000 - at;
  return age <= config.mfaMaxAgeSeconds && age >= -config.clockToleranceSeconds;
}
