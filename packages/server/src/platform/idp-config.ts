import { z } from 'zod';
import { USER_ROLES, type UserRole } from './db/schema.js';

/**
 * Trusting the SaaS's own identity provider (docs/identity-provider.md): which tokens, verified
 * how, and how their claims name a tenant, a role and a user. Parsed once from KEYHOLD_IDP_*;
 * absent when KEYHOLD_IDP_ISSUER is not set.
 */
export type IdpConfig = {
  issuer: string;
  jwksUrl: string;
  audience: string[];
  /** Asymmetric signature algorithms only: `none` and HMAC (a shared secret) are refused at start. */
  algorithms: string[];
  clockToleranceSeconds: number;
  /** A token older than this (by `iat`) is refused whatever its `exp` says. */
  maxTokenAgeSeconds: number;
  jwks: { cooldownSeconds: number; cacheSeconds: number; timeoutMs: number };
  /** Claim names; a dotted name reads a nested claim (`o.id`) when no claim has that exact name. */
  claims: { org: string; role: string; email: string };
  /** `external_id`: the tenant whose `idpOrgId` equals the claim; `slug`: the tenant with that slug. */
  orgMatch: 'external_id' | 'slug';
  /** IdP role value → Keyhold role. */
  roleMap: Record<string, UserRole>;
  /** `amr` values that satisfy step-up MFA, for an authentication at most `mfaMaxAgeSeconds` old; empty: never. */
  amrSatisfiesMfa: string[];
  mfaMaxAgeSeconds: number;
};

export const IDP_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL');
const seconds = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);
const claimName = z.string().trim().min(1).max(200);

const IdpEnv = z.object({
  KEYHOLD_IDP_ISSUER: z.string().trim().min(1).max(512).refine((v) => v !== 'keyhold', "must not be 'keyhold' (Keyhold's own tokens)"),
  KEYHOLD_IDP_JWKS_URL: httpUrl,
  KEYHOLD_IDP_AUDIENCE: z.string().transform(list).pipe(z.array(z.string().max(512)).min(1, 'name at least one audience')),
  KEYHOLD_IDP_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform(list)
    .pipe(z.array(z.enum(IDP_ALGORITHMS, { message: `use asymmetric algorithms only (${IDP_ALGORITHMS.join(', ')}); none and HS* are refused` })).min(1)),
  KEYHOLD_IDP_CLOCK_TOLERANCE_SECONDS: seconds(0, 300, 30),
  KEYHOLD_IDP_MAX_TOKEN_AGE_SECONDS: seconds(60, 7 * 86_400, 86_400),
  KEYHOLD_IDP_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  KEYHOLD_IDP_JWKS_CACHE_SECONDS: z.coerce.number().min(0).max(86_400).default(600),
  KEYHOLD_IDP_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  KEYHOLD_IDP_ORG_CLAIM: claimName.default('org_id'),
  KEYHOLD_IDP_ORG_MATCH: z.enum(['external_id', 'slug']).default('external_id'),
  KEYHOLD_IDP_ROLE_CLAIM: claimName.default('org_role'),
  KEYHOLD_IDP_ROLE_MAP: z.string().optional(),
  KEYHOLD_IDP_EMAIL_CLAIM: claimName.default('email'),
  KEYHOLD_IDP_AMR_SATISFIES_MFA: z.string().default('').transform(list),
  KEYHOLD_IDP_MFA_MAX_AGE_SECONDS: seconds(30, 3600, 300),
});

/** `org:admin=admin,org:member=member`; without one, the IdP's values are Keyhold's role names. */
function roleMap(spec: string | undefined): Record<string, UserRole> | string {
  if (!spec) return Object.fromEntries(USER_ROLES.map((r) => [r, r]));
  const out: Record<string, UserRole> = {};
  for (const pair of list(spec)) {
    const at = pair.lastIndexOf('=');
    const from = pair.slice(0, at).trim();
    const to = pair.slice(at + 1).trim();
    if (at <= 0 || !(USER_ROLES as readonly string[]).includes(to)) return `'${pair}' is not <idp value>=<${USER_ROLES.join('|')}>`;
    out[from] = to as UserRole;
  }
  return out;
}

/**
 * The identity-provider settings, or undefined when KEYHOLD_IDP_ISSUER is unset; problems are
 * returned as `NAME: message` lines for the configuration error. In production the JWKS must
 * come over https (keys fetched in clear could be swapped on the way).
 */
export function idpConfig(env: NodeJS.ProcessEnv, production: boolean): { idp?: IdpConfig; problems: string[] } {
  const set = Object.keys(env).filter((k) => k.startsWith('KEYHOLD_IDP_') && env[k]);
  if (!env.KEYHOLD_IDP_ISSUER) {
    return { problems: set.length ? [`KEYHOLD_IDP_ISSUER: required with ${set.join(', ')}`] : [] };
  }
  const parsed = IdpEnv.safeParse(env);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`) };
  const e = parsed.data;
  const roles = roleMap(e.KEYHOLD_IDP_ROLE_MAP);
  const problems = typeof roles === 'string' ? [`KEYHOLD_IDP_ROLE_MAP: ${roles}`] : [];
  if (production && !e.KEYHOLD_IDP_JWKS_URL.startsWith('https://')) problems.push('KEYHOLD_IDP_JWKS_URL: must be https in production');
  if (problems.length || typeof roles === 'string') return { problems };
  return {
    problems: [],
    idp: {
      issuer: e.KEYHOLD_IDP_ISSUER,
      jwksUrl: e.KEYHOLD_IDP_JWKS_URL,
      audience: e.KEYHOLD_IDP_AUDIENCE,
      algorithms: e.KEYHOLD_IDP_ALGORITHMS,
      clockToleranceSeconds: e.KEYHOLD_IDP_CLOCK_TOLERANCE_SECONDS,
      maxTokenAgeSeconds: e.KEYHOLD_IDP_MAX_TOKEN_AGE_SECONDS,
      jwks: { cooldownSeconds: e.KEYHOLD_IDP_JWKS_COOLDOWN_SECONDS, cacheSeconds: e.KEYHOLD_IDP_JWKS_CACHE_SECONDS, timeoutMs: e.KEYHOLD_IDP_JWKS_TIMEOUT_MS },
      claims: { org: e.KEYHOLD_IDP_ORG_CLAIM, role: e.KEYHOLD_IDP_ROLE_CLAIM, email: e.KEYHOLD_IDP_EMAIL_CLAIM },
      orgMatch: e.KEYHOLD_IDP_ORG_MATCH,
      roleMap: roles,
      amrSatisfiesMfa: e.KEYHOLD_IDP_AMR_SATISFIES_MFA,
      mfaMaxAgeSeconds: e.KEYHOLD_IDP_MFA_MAX_AGE_SECONDS,
    },
  };
}
