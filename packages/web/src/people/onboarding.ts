import { useConnections } from '../api/queries';
import { type OnboardingStep, useFreshMe, useOnboarding, useUsers } from '../api/people';
import { useMe } from '../auth/session';

export type StepView = { id: OnboardingStep; title: string; description: string; to: string; action: string; done: boolean; skipped: boolean };

/**
 * The first-run list as it stands: which steps are done comes from the organization itself (a
 * connection, MFA on, a teammate), which were put off from the server (kept per person).
 */
export function useOnboardingSteps() {
  const me = useMe();
  const admin = me.atLeast('admin');
  const fresh = useFreshMe();
  const onboarding = useOnboarding();
  const connections = useConnections(admin);
  const users = useUsers(admin);
  const skipped = new Set(onboarding.data?.skipped ?? []);
  const all: Array<StepView & { forAdmins: boolean }> = [
    { id: 'connect', forAdmins: true, title: 'Connect your first integration', description: 'Xero, Stripe, Shopify… by OAuth consent or an API key, tested before it is saved.', to: '/integrations', action: 'Open integrations', done: (connections.data?.length ?? 0) > 0, skipped: skipped.has('connect') },
    { id: 'mfa', forAdmins: false, title: 'Turn on two-step verification', description: 'Revealing, rotating and deleting credentials ask for a code from your authenticator app.', to: '/settings/security', action: 'Set it up', done: fresh.data?.user?.mfaEnabled ?? false, skipped: skipped.has('mfa') },
    { id: 'invite', forAdmins: true, title: 'Invite a teammate', description: 'An organization with a second owner or admin is not locked out when one person is away.', to: '/settings/users', action: 'Invite someone', done: (users.data?.length ?? 0) > 1, skipped: skipped.has('invite') },
  ];
  const steps = all.filter((s) => admin || !s.forAdmins);
  const ready = onboarding.isSuccess && fresh.isSuccess && (!admin || (connections.isSuccess && users.isSuccess));
  return {
    ready,
    steps,
    skipped: [...skipped],
    dismissedAt: onboarding.data?.dismissedAt ?? null,
    remaining: steps.filter((s) => !s.done && !s.skipped).length,
    done: steps.filter((s) => s.done).length,
  };
}
