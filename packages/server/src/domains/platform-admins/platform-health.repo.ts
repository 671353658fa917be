import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';

/**
 * The health page's cross-tenant reads: SECURITY DEFINER functions (migration 0037) that return
 * counts and ids only. Names are read afterwards inside each tenant's context.
 */
export function createPlatformHealthRepo(db: Kysely<Database>) {
  return {
    async figures(now: Date, soon: Date) {
      const { rows } = await sql<{ metric: string; key: string; n: string }>`select * from keyhold_platform_health(${now}, ${soon})`.execute(db);
      return rows.map((r) => ({ metric: r.metric, key: r.key, n: Number(r.n) }));
    },
    async attention(now: Date, limit: number) {
      const { rows } = await sql<{ tenant_id: string; needs_reauth: string; tokens_expired: string; failing_syncs: string }>`select * from keyhold_tenants_needing_attention(${now}, ${limit})`.execute(db);
      return rows.map((r) => ({ tenantId: r.tenant_id, needsReauth: Number(r.needs_reauth), tokensExpired: Number(r.tokens_expired), failingSyncs: Number(r.failing_syncs) }));
    },
    async dataKeys() {
      const { rows } = await sql<{ kek_id: string; version: number; state: string; n: string }>`select * from keyhold_data_key_status()`.execute(db);
      return rows.map((r) => ({ masterKey: r.kek_id, version: r.version, state: r.state, count: Number(r.n) }));
    },
    /** Platform admins without anything secret (no password hash, no TOTP secret). */
    admins: () =>
      db.selectFrom('platform_admins')
        .select(['id', 'email', 'role', 'is_active', 'last_login_at', 'created_at', sql<boolean>`mfa_secret is not null`.as('mfa_enabled')])
        .orderBy('email')
        .execute(),
  };
}
export type PlatformHealthRepo = ReturnType<typeof createPlatformHealthRepo>;
