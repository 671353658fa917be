import type { Clock } from '../../platform/clock.js';
import type { KeyRing } from '../vault/kek.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import type { PlatformHealthRepo } from './platform-health.repo.js';

/** Tokens expiring within this window count as "expiring" (the refresh job renews them ahead). */
export const EXPIRING_WINDOW_MS = 60 * 60_000;
const ATTENTION_LIMIT = 20;

export type PlatformHealthDeps = {
  repo: PlatformHealthRepo;
  ring: Pick<KeyRing, 'current' | 'ids'>;
  tenants: Pick<TenantsService, 'get'>;
  clock: Clock;
};

/** The platform console's health figures and admins list (no tenant secret ever passes here). */
export function createPlatformHealthService(deps: PlatformHealthDeps) {
  async function health() {
    const now = deps.clock();
    const soon = new Date(now.getTime() + EXPIRING_WINDOW_MS);
    const [figures, attention, dataKeys] = await Promise.all([deps.repo.figures(now, soon), deps.repo.attention(now, ATTENTION_LIMIT), deps.repo.dataKeys()]);
    const byKey = (metric: string) => Object.fromEntries(figures.filter((f) => f.metric === metric).map((f) => [f.key, f.n])) as Record<string, number>;
    const one = (metric: string) => figures.find((f) => f.metric === metric)?.n ?? 0;
    const connections = byKey('connections');
    const current = deps.ring.current.id;
    const named = await Promise.all(attention.map(async (a) => {
      const t = await deps.tenants.get(a.tenantId).catch(() => null);
      return { ...a, slug: t?.slug ?? null, name: t?.name ?? null };
    }));
    return {
      asOf: now.toISOString(),
      tenants: byKey('tenants'),
      connections: { total: Object.values(connections).reduce((a, b) => a + b, 0), byStatus: connections },
      needsReauth: connections.needs_reauth ?? 0,
      tokens: { expired: one('tokens_expired'), expiringSoon: one('tokens_expiring'), expiringWithinMinutes: EXPIRING_WINDOW_MS / 60_000 },
      failingSyncs: one('failing_syncs'),
      webhookQuarantine: one('quarantine'),
      keys: {
        currentMasterKey: current,
        configuredMasterKeys: deps.ring.ids,
        dataKeys,
        // Active data keys still wrapped by an older master key: a master key rotation not finished yet.
        awaitingRewrap: dataKeys.filter((k) => k.state === 'active' && k.masterKey !== current).reduce((a, k) => a + k.count, 0),
      },
      attention: named,
    };
  }

  async function admins() {
    return (await deps.repo.admins()).map((a) => ({
      id: a.id, email: a.email, role: a.role, isActive: a.is_active, mfaEnabled: a.mfa_enabled,
      lastLoginAt: a.last_login_at?.toISOString() ?? null, createdAt: a.created_at.toISOString(),
    }));
  }

  return { health, admins };
}
export type PlatformHealthService = ReturnType<typeof createPlatformHealthService>;
