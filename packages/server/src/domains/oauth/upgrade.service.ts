import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { type PrincipalCtx, systemActor } from '../../platform/context.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import { type ConnectionStore, type InUse, asErrorCode } from '../connections/store.js';
import { type OAuthClient, type TokenSet, TokenRequestError } from './oauth-client.js';

/** The refresh lease's length: longer than the token request timeout (10 s). */
const LEASE_MS = 30_000;
/** After a definite refusal, when to ask again (the refusal is recorded each time). */
export const UPGRADE_RETRY_AFTER_REFUSAL_MS = 24 * 3600_000;
/** Transient failures back off 30 s, 60 s… capped at 30 min, like refreshes. */
const backoffMs = (failures: number) => Math.min(30_000 * 2 ** Math.max(0, failures - 1), 30 * 60_000) * (0.5 + Math.random() / 2);

export type UpgradeDeps = {
  store: Pick<ConnectionStore, 'claimUpgradeBatch' | 'byIds' | 'secretsOf' | 'update' | 'releaseRefreshLease'>;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'get' | 'list'>;
  client: Pick<OAuthClient, 'upgrade' | 'upgradable'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Tests inject a crash between the provider's answer and the write. */
  afterProviderAnswer?: (connectionId: string) => void;
};

export type UpgradeStats = { claimed: number; upgraded: number; refused: number; failed: number };

/**
 * Grant upgrades: connections whose token Keyhold's OAuth flow obtained under a grant the
 * provider is retiring (no expiry, no refresh token) are exchanged for a current grant with the
 * adapter's `oauth.upgradeGrant`, without the user. Only tokens of origin 'oauth' are candidates
 * (a token a tenant saved was not issued to Keyhold's app and is never sent to its token
 * endpoint). Fenced like a refresh: the claim takes the row's refresh lease, the provider is
 * called outside any transaction, and the new tokens are written only while the lease is held.
 */
export function createGrantUpgrader(deps: UpgradeDeps) {
  const { store, tenancy, catalog } = deps;
  const now = () => deps.clock();
  const system = (tenantId: string): PrincipalCtx => ({ tenantId, actor: systemActor });
  const later = (ms: number) => new Date(now().getTime() + ms);

  async function sweep(opts: { batch?: number; concurrency?: number; maxMs?: number } = {}): Promise<UpgradeStats> {
    const stats: UpgradeStats = { claimed: 0, upgraded: 0, refused: 0, failed: 0 };
    const providers = catalog.list().filter((p) => deps.client.upgradable(p)).map((p) => p.id);
    if (providers.length === 0) return stats;
    const started = Date.now();
    for (;;) {
      const lease = randomUUID();
      const claimed = await store.claimUpgradeBatch(lease, now(), later(LEASE_MS), providers, opts.batch ?? 50);
      if (claimed.length === 0) break;
      stats.claimed += claimed.length;
      const byTenant = new Map<string, string[]>();
      for (const c of claimed) byTenant.set(c.tenant_id, [...(byTenant.get(c.tenant_id) ?? []), c.id]);
      for (const [tenantId, ids] of byTenant) {
        try {
          await upgradeGroup(tenantId, ids, lease, stats, opts.concurrency ?? 8);
        } catch (err) {
          stats.failed += ids.length;
          deps.log?.warn({ tenantId, err: { message: (err as Error).message } }, 'grant upgrade failed');
        }
      }
      if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) break;
    }
    return stats;
  }

  async function upgradeGroup(tenantId: string, ids: string[], lease: string, stats: UpgradeStats, width: number) {
    const held = await tenancy.withTenant(tenantId, async (tx) => {
      const out: InUse[] = [];
      for (const row of await store.byIds(tx, ids)) out.push({ row, secrets: await store.secretsOf(tx, row) });
      return out;
    });
    const mine = held.filter((h) => h.row.refresh_lease_owner === lease && (h.row.refresh_lease_until?.getTime() ?? 0) > now().getTime());
    for (let i = 0; i < mine.length; i += width) {
      await Promise.all(mine.slice(i, i + width).map((h) => upgradeOne(tenantId, h, lease, stats)));
    }
  }

  async function upgradeOne(tenantId: string, held: InUse, lease: string, stats: UpgradeStats) {
    const { row, secrets } = held;
    const provider = catalog.get(row.provider);
    if (secrets.refreshToken || !secrets.accessToken) {
      // Not a retired grant after all (or nothing to exchange): look again much later.
      await tenancy.withTenant(tenantId, (tx) => store.releaseRefreshLease(tx, row.id, lease, { nextRefreshAt: later(UPGRADE_RETRY_AFTER_REFUSAL_MS) }));
      return;
    }
    let tokens: TokenSet | undefined;
    try {
      tokens = await deps.client.upgrade(provider, row.config, secrets.accessToken);
    } catch (err) {
      await failed(tenantId, provider, held, lease, err, stats);
      return;
    }
    if (!tokens) {
      await tenancy.withTenant(tenantId, (tx) => store.releaseRefreshLease(tx, row.id, lease, { nextRefreshAt: later(UPGRADE_RETRY_AFTER_REFUSAL_MS) }));
      return;
    }
    deps.afterProviderAnswer?.(row.id);
    const next = { ...secrets, accessToken: tokens.accessToken, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) };
    const expiresAt = tokens.expiresIn === undefined ? null : later(tokens.expiresIn * 1000);
    const written = await tenancy.withTenant(tenantId, async (tx) => {
      const u = await store.update(tx, row, { secrets: next, tokenExpiresAt: expiresAt, resetRefresh: true }, { reason: 'rotated', detail: { source: 'refresh', fields: Object.keys(next).sort() }, lease });
      if (u) await deps.audit.record(system(tenantId), { action: 'oauth.grant_upgraded', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label } }, tx);
      return u;
    });
    if (!written) {
      // The lease ran out and another node claimed the row: it exchanges the same old token and
      // writes what the provider answers it (the provider's retry window makes that the same pair).
      deps.log?.warn({ connectionId: row.id, provider: provider.id }, 'grant upgrade lease lost before the write; another node takes it over');
      return;
    }
    stats.upgraded++;
    deps.log?.info({ connectionId: row.id, provider: provider.id }, 'grant upgraded to an expiring token');
  }

  /**
   * A transient failure backs off and tries again; a definite refusal leaves the connection as
   * it is (its token may still work) and asks again a day later. Both are recorded as
   * `refresh_failed` events; a refusal also in the audit log. The status never changes here.
   */
  async function failed(tenantId: string, provider: Provider, held: InUse, lease: string, cause: unknown, stats: UpgradeStats) {
    const err = cause instanceof TokenRequestError ? cause : cause instanceof AppError ? new TokenRequestError('rejected', cause.code, undefined) : new TokenRequestError('transient', undefined, undefined);
    const { row } = held;
    const transient = err.kind === 'transient';
    const failures = row.refresh_failures + 1;
    const nextRefreshAt = later(transient ? backoffMs(failures) : UPGRADE_RETRY_AFTER_REFUSAL_MS);
    const error = transient ? 'transient' : asErrorCode(err.providerError, err.kind);
    if (transient) stats.failed++;
    else stats.refused++;
    await tenancy.withTenant(tenantId, async (tx) => {
      const u = await store.update(tx, row, { refreshFailures: failures, nextRefreshAt }, { reason: 'refresh_failed', detail: { source: 'refresh', failures, error, nextAttemptAt: nextRefreshAt.toISOString() }, lease });
      if (u && !transient) {
        await deps.audit.record(system(tenantId), { action: 'oauth.upgrade_refused', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label, reason: error, httpStatus: err.status ?? null } }, tx);
      }
    });
    deps.log?.warn({ connectionId: row.id, provider: provider.id, reason: error, httpStatus: err.status ?? null, failures }, transient ? 'grant upgrade failed; retrying later' : 'grant upgrade refused by the provider');
  }

  return { sweep };
}
