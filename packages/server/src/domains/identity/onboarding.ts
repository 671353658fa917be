import { OnboardingSchema, OnboardingUpdateBody, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { IdentityRepo, UserRow } from './identity.repo.js';
import type { TenantPrincipal } from './principal.js';

export type Onboarding = z.infer<typeof OnboardingSchema>;
export type OnboardingDeps = { repo: Pick<IdentityRepo, 'userById' | 'updateUser'>; tenancy: Tenancy; clock: Clock };

const needsUser = () => new AppError('FORBIDDEN', 'Only a signed-in user has an onboarding list');
const view = (u: UserRow): Onboarding => ({
  skipped: u.onboarding_skipped as Onboarding['skipped'],
  dismissedAt: u.onboarding_dismissed_at?.toISOString() ?? null,
});

/**
 * A person's first-run list: which steps they put off and whether they set the list aside. Kept
 * on the server so "skip for now" holds across reloads and browsers; undoing it brings it back.
 */
export function createOnboarding(deps: OnboardingDeps) {
  async function get(p: TenantPrincipal): Promise<Onboarding> {
    if (!p.userId) throw needsUser();
    const userId = p.userId;
    return deps.tenancy.withTenant(p.tenantId, async (tx) => {
      const user = await deps.repo.userById(tx, userId);
      if (!user) throw needsUser();
      return view(user);
    });
  }

  async function update(p: TenantPrincipal, input: z.input<typeof OnboardingUpdateBody>): Promise<Onboarding> {
    if (!p.userId) throw needsUser();
    const userId = p.userId;
    const data = OnboardingUpdateBody.parse(input);
    return deps.tenancy.withTenant(p.tenantId, async (tx) => {
      const user = await deps.repo.userById(tx, userId, { lock: true });
      if (!user) throw needsUser();
      const updated = await deps.repo.updateUser(tx, userId, {
        ...(data.skipped ? { onboarding_skipped: [...new Set(data.skipped)] } : {}),
        ...(data.dismissed === undefined ? {} : { onboarding_dismissed_at: data.dismissed ? (user.onboarding_dismissed_at ?? deps.clock()) : null }),
      });
      return view(updated);
    });
  }

  return { get, update };
}
export type OnboardingService = ReturnType<typeof createOnboarding>;

export function onboardingRoutes(app: FastifyInstance, { onboarding }: { onboarding: OnboardingService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['auth'];
  r.get('/api/auth/onboarding', {
    schema: { tags, summary: 'Your first-run list: the steps you put off and whether you set it aside', response: { 200: successEnvelope(OnboardingSchema) } },
  }, async (req) => ok(await onboarding.get(principalOf(req))));
  r.put('/api/auth/onboarding', {
    schema: { tags, summary: 'Skip steps for now, or set the list aside (dismissed) and bring it back', body: OnboardingUpdateBody, response: { 200: successEnvelope(OnboardingSchema) } },
  }, async (req) => ok(await onboarding.update(principalOf(req), req.body)));
}
