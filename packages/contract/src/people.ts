import { z } from 'zod';

/** An API key as listed: never the key itself. */
export const ApiKeySchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  prefix: z.string().describe('First characters of the key, to recognise it'),
  scopes: z.array(z.string()),
  role: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export const CreatedApiKeySchema = ApiKeySchema.extend({ key: z.string().describe('The key itself. Shown once; store it now') });

export const AuditEntrySchema = z.object({
  id: z.string().uuid(),
  seq: z.number().int(),
  action: z.string(),
  outcome: z.enum(['success', 'failure']).describe('failure for entries that record something refused or gone wrong'),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  entity: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

/** The first-run steps a person may put off: connect an integration, turn on MFA, invite someone. */
export const ONBOARDING_STEPS = ['connect', 'mfa', 'invite'] as const;
export const OnboardingStepSchema = z.enum(ONBOARDING_STEPS);
export const OnboardingSchema = z.object({
  skipped: z.array(OnboardingStepSchema).describe('Steps put off with "skip for now"'),
  dismissedAt: z.string().nullable().describe('When the person set the whole list aside; null while it shows'),
});
export const OnboardingUpdateBody = z.object({
  skipped: z.array(OnboardingStepSchema).max(ONBOARDING_STEPS.length).optional(),
  dismissed: z.boolean().optional(),
}).refine((v) => v.skipped !== undefined || v.dismissed !== undefined, 'give skipped and/or dismissed');
