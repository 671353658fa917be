import { z } from 'zod';

export const UserRoleSchema = z.enum(['owner', 'admin', 'member', 'viewer']);
export const TenantStatusSchema = z.enum(['active', 'trial', 'suspended', 'cancelled', 'trial_expired']);

export const UserSchema = z.object({
  id: z.string().uuid(),
  email: z.string(),
  role: UserRoleSchema,
  isActive: z.boolean(),
  mfaEnabled: z.boolean(),
  mustChangePassword: z.boolean(),
  invitePending: z.boolean(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
});

export const TenantSummarySchema = z.object({
  id: z.string().uuid(),
  slug: z.string(),
  name: z.string(),
  status: TenantStatusSchema,
});

export const TokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Access token lifetime in seconds'),
});

export const SignedInSchema = TokenPairSchema.extend({ user: UserSchema, tenant: TenantSummarySchema });
export const MfaChallengeSchema = z.object({ mfaRequired: z.literal(true), mfaToken: z.string() });
export const LoginResponseSchema = z.union([SignedInSchema, MfaChallengeSchema]);

export const SignupBody = z.object({
  organizationName: z.string().min(1).max(200),
  slug: z.string().max(63).optional().describe('Workspace address; derived from the name when omitted'),
  email: z.string().email().max(254),
  password: z.string().min(1).max(1024),
  invitation: z.string().max(200).optional().describe('An invitation from the operator (khs_…); needed when sign-up is by invitation'),
});
export const LoginBody = z.object({
  tenant: z.string().min(1).max(63).describe('Tenant slug'),
  email: z.string().max(254),
  password: z.string().max(1024),
});
export const MfaVerifyBody = z.object({ mfaToken: z.string().min(1), code: z.string().min(1).max(64) });
export const RefreshBody = z.object({ refreshToken: z.string().max(200).optional() }).nullish();
export const MfaCodeBody = z.object({ code: z.string().min(1).max(64) });

export const SessionSchema = z.object({
  id: z.string().uuid(),
  current: z.boolean(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
});

export const MeSchema = z.object({
  user: UserSchema.nullable(),
  tenant: TenantSummarySchema,
  role: UserRoleSchema,
  scopes: z.array(z.string()).nullable(),
});

export const MfaSetupSchema = z.object({ secret: z.string(), otpauthUrl: z.string() });
export const RecoveryCodesSchema = z.object({ recoveryCodes: z.array(z.string()) });
