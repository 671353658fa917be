import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../platform/clock.js';
import { type PrincipalCtx, systemActor } from '../../platform/context.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import type { ConnectionRow } from '../connections/connections.repo.js';
import { type ConnectionStore, asErrorCode } from '../connections/store.js';
import { type OAuthClient, type TokenSet, TokenRequestError } from './oauth-client.js';
import { runRefreshPipeline } from './refresh-pipeline.js';
import { type UpgradeStats, createGrantUpgrader } from './upgrade.service.js';

export const DEFAULT_REFRESH_MARGIN_S = 300;
/** Longer than the token request timeout (10 s), so a live refresh never loses its lease. */
const LEASE_MS = 30_000;
/**
 * A background sweep's lease: its items wait in the pipeline's queue before their call, so it is
 * longer than an interactive refresh's. A call starts only while at least CALL_BY_MS of it remain
 * (the 10 s token request and the write fit before it ends); an item that waited longer is left for
 * the next sweep, never called on a lease another node may take over meanwhile (with a provider
 * that rotates refresh tokens, the loser's answer would be lost with the only valid refresh token).
 */
const SWEEP_LEASE_MS = 60_000;
const CALL_BY_MS = 20_000;
/** How long a reader waits for another node's refresh before answering 503. */
const WAIT_FOR_OTHER_MS = 15_000;
/**
 * Background refreshes written per statement at most (fewer when a tenant has fewer waiting): a
 * crash between the provider's answers and the write loses at most this many per tenant, which
 * providers with a rotation grace window forgive (see README).
 */
const WRITE_WIDTH = 32;
/** Consecutive transient failures before the connection shows as `degraded`. */
export const DEGRADED_AFTER = 3;

export type Fresh = { row: ConnectionRow; secrets: Record<string, string> };

export type RefreshDeps = {
  /** Every connection write goes through the store (fenced on the refresh lease here). */
  store: Pick<ConnectionStore, 'byId' | 'byIds' | 'secretsOf' | 'takeRefreshLease' | 'releaseRefreshLease' | 'writeRefreshed' | 'transition' | 'update' | 'claimRefreshBatch' | 'claimUpgradeBatch'>;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'get' | 'list'>;
  client: Pick<OAuthClient, 'refresh' | 'upgrade' | 'upgradable'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Tests inject a crash between the provider's answer and the write. */
  afterProviderAnswer?: (connectionId: string) => void;
};

/** Exponential backoff with jitter: 30 s, 60 s, 120 s… capped at 30 min, each × [0.5, 1). */
export function backoffMs(failures: number, random = Math.random): number {
  const base = Math.min(30_000 * 2 ** Math.max(0, failures - 1), 30 * 60_000);
  return Math.round(base * (0.5 + random() / 2));
}

/** An OAuth app the operator removed from the config fails like a rejected request: backoff. */
function asTokenError(err: unknown): TokenRequestError {
  if (err instanceof TokenRequestError) return err;
  if (err instanceof AppError) return new TokenRequestError('rejected', err.code, undefined);
  throw err;
}

export const refreshMarginMs = (provider: Provider) => (provider.oauth?.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_S) * 1000;

/**
 * Keeps OAuth access tokens fresh. One refresh per connection at a time across every process:
 * a node refreshes only while it holds the row's lease (owner + expiry, taken with a conditional
 * UPDATE), calls the provider outside any transaction, and writes the new tokens only if it still
 * holds the lease (the fence). Everyone else waits and re-reads the row.
 */
export function createTokenRefresher(deps: RefreshDeps) {
  const { store, tenancy, catalog } = deps;
  const now = () => deps.clock();
  const system = (tenantId: string): PrincipalCtx => ({ tenantId, actor: systemActor });
  const upgrader = createGrantUpgrader(deps);

  const needsRefresh = (row: ConnectionRow, provider: Provider) =>
    row.token_expires_at !== null && row.token_expires_at.getTime() - now().getTime() < refreshMarginMs(provider);
  const isExpired = (row: ConnectionRow) => row.token_expires_at !== null && row.token_expires_at.getTime() <= now().getTime();
  const reconnect = (provider: Provider) => [{ label: `Reconnect ${provider.displayName}`, url: `/admin/integrations?connect=${provider.id}` }];
  const needsReauth = (provider: Provider) =>
    new AppError('INTEGRATION_NEEDS_REAUTH', `The ${provider.displayName} connection was revoked or expired; an admin has to reconnect it`, { actions: reconnect(provider) });
  const tokenExpired = (provider: Provider, retryAfterS: number) =>
    new AppError('INTEGRATION_TOKEN_EXPIRED', `The ${provider.displayName} access token expired and could not be refreshed yet; try again shortly`, {
      actions: reconnect(provider),
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterS))) },
    });

  const decrypt = async (tenantId: string, row: ConnectionRow) =>
    tenancy.withTenant(tenantId, (tx) => store.secretsOf(tx, row));

  /**
   * The connection with an access token that is not about to expire: refreshed first when needed
   * (or when `force`, after the provider rejected the token). Never returns an expired token.
   */
  async function fresh(tenantId: string, current: Fresh, opts: { force?: boolean } = {}): Promise<Fresh> {
    const provider = catalog.get(current.row.provider);
    if (!provider.oauth) return current;
    if (current.row.status === 'needs_reauth') throw needsReauth(provider);
    if (!opts.force && !needsRefresh(current.row, provider)) return current;
    const backoffUntil = current.row.next_refresh_at?.getTime() ?? 0;
    if (!opts.force && backoffUntil > now().getTime()) {
      // Backing off after failures: no call to the provider until then.
      if (!isExpired(current.row)) return current;
      throw tokenExpired(provider, (backoffUntil - now().getTime()) / 1000);
    }
    if (!current.secrets.refreshToken) {
      if (isExpired(current.row) || opts.force) throw needsReauth(provider);
      return current;
    }
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    let seen = current;
    for (;;) {
      const lease = randomUUID();
      const leased = await tenancy.withTenant(tenantId, (tx) => store.takeRefreshLease(tx, seen.row.id, lease, now(), new Date(now().getTime() + LEASE_MS)));
      if (leased) {
        if (leased.row.status === 'needs_reauth') {
          await release(tenantId, leased, lease);
          throw needsReauth(provider);
        }
        // Fencing: someone may have refreshed between our read and the lease; use their tokens.
        const refreshedMeanwhile = leased.row.credential_version !== current.row.credential_version;
        if (refreshedMeanwhile && !needsRefresh(leased.row, provider)) return release(tenantId, leased, lease);
        return refreshHeld(tenantId, provider, leased, lease);
      }
      await sleep(25 + Math.random() * 50);
      const row = await tenancy.withTenant(tenantId, (tx) => store.byId(tx, seen.row.id));
      if (!row) throw new AppError('NOT_FOUND', 'Connection not found');
      if (row.status === 'needs_reauth') throw needsReauth(provider);
      if (row.credential_version !== seen.row.credential_version) {
        seen = { row, secrets: await decrypt(tenantId, row) };
        if (!needsRefresh(row, provider)) return seen;
      }
      if (Date.now() > deadline) {
        if (!isExpired(seen.row)) return seen;
        throw tokenExpired(provider, 5);
      }
    }
  }

  async function release(tenantId: string, held: Fresh, lease: string): Promise<Fresh> {
    const row = await tenancy.withTenant(tenantId, (tx) => store.releaseRefreshLease(tx, held.row.id, lease));
    return { row: row ?? held.row, secrets: held.secrets };
  }

  /** Refreshes a connection whose lease this node holds, and writes the outcome under the fence. */
  async function refreshHeld(tenantId: string, provider: Provider, held: Fresh, lease: string): Promise<Fresh> {
    const { row, secrets } = held;
    if (!secrets.refreshToken) {
      // Nothing to refresh with: check again when it expires; then only reconnecting helps.
      if (isExpired(row)) return failed(tenantId, provider, held, lease, new TokenRequestError('invalid_grant', 'no_refresh_token', undefined));
      const u = await tenancy.withTenant(tenantId, (tx) => store.releaseRefreshLease(tx, row.id, lease, { nextRefreshAt: row.token_expires_at }));
      return { row: u ?? row, secrets };
    }
    let tokens: TokenSet;
    try {
      tokens = await deps.client.refresh(provider, row.config, secrets.refreshToken!);
    } catch (err) {
      return failed(tenantId, provider, held, lease, asTokenError(err));
    }
    deps.afterProviderAnswer?.(row.id);
    const written = await tenancy.withTenant(tenantId, (tx) => writeRefreshed(tx, tenantId, provider, held, lease, tokens));
    if (!written) {
      // The lease expired and another node took over; its write wins. With a rotation grace
      // window the provider still honours the token it holds.
      deps.log?.warn({ connectionId: row.id, provider: provider.id }, 'refresh lease lost before the write; using the other node\'s result');
      const latest = await tenancy.withTenant(tenantId, (tx) => store.byId(tx, row.id));
      if (!latest) throw new AppError('NOT_FOUND', 'Connection not found');
      return { row: latest, secrets: await decrypt(tenantId, latest) };
    }
    deps.log?.debug({ connectionId: row.id, provider: provider.id }, 'access token refreshed');
    return written;
  }

  /**
   * Persists a provider's answer: new access token, the rotated refresh token (kept when the
   * provider sends none), expiry and version, atomically, fenced on the lease. Undefined when the
   * lease was lost.
   */
  async function writeRefreshed(tx: TenantTx, tenantId: string, provider: Provider, held: Fresh, lease: string, tokens: TokenSet): Promise<Fresh | undefined> {
    const { row, secrets } = held;
    const next = { ...secrets, accessToken: tokens.accessToken, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) };
    const expiresAt = tokens.expiresIn === undefined ? null : new Date(now().getTime() + tokens.expiresIn * 1000);
    const written = await store.writeRefreshed(tx, lease, [{ row, secrets: next, expiresAt }]);
    if (!written.has(row.id)) return undefined;
    const updated = (await noteRecovered(tx, tenantId, provider, row)) ?? (await store.byId(tx, row.id));
    return updated && { row: updated, secrets: next };
  }

  /** A working refresh heals a degraded (or failed) connection; a disabled or needs_reauth one stays as it is. */
  async function noteRecovered(tx: TenantTx, tenantId: string, provider: Provider, row: ConnectionRow) {
    if (row.status !== 'degraded' && row.status !== 'error') return undefined;
    const healed = await store.transition(tx, row, 'active', { reason: 'recovered', detail: { source: 'refresh' }, onlyFrom: ['degraded', 'error'] });
    if (healed) await deps.audit.record(system(tenantId), { action: 'oauth.refresh_recovered', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label } }, tx);
    return healed;
  }

  async function failed(tenantId: string, provider: Provider, held: Fresh, lease: string, err: TokenRequestError): Promise<Fresh> {
    const { row } = held;
    if (err.kind === 'invalid_grant') {
      await tenancy.withTenant(tenantId, async (tx) => {
        const error = asErrorCode(err.providerError, 'invalid_grant');
        const moved = await store.transition(tx, row, 'needs_reauth', { reason: 'needs_reauth', detail: { source: 'refresh', error }, change: { nextRefreshAt: null }, lease });
        if (!moved) return; // the lease was lost: whoever holds it now decides
        await deps.audit.record(system(tenantId), { action: 'oauth.refresh_failed', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label, reason: 'invalid_grant', status: 'needs_reauth' } }, tx);
      });
      throw needsReauth(provider);
    }
    const failures = row.refresh_failures + 1;
    const waitMs = backoffMs(failures);
    const nextRefreshAt = new Date(now().getTime() + waitMs);
    const change = { refreshFailures: failures, nextRefreshAt };
    const updated = await tenancy.withTenant(tenantId, async (tx) => {
      // The failure that crosses the threshold degrades the connection; every other one is noted as such.
      const degrades = failures >= DEGRADED_AFTER && row.status !== 'degraded';
      const u = degrades
        ? await store.transition(tx, row, 'degraded', { reason: 'degraded', detail: { source: 'refresh', failures, error: err.kind }, change, lease })
        : await store.update(tx, row, change, { reason: 'refresh_failed', detail: { source: 'refresh', failures, error: err.kind, nextAttemptAt: nextRefreshAt.toISOString() }, lease });
      if (u && degrades) {
        await deps.audit.record(system(tenantId), { action: 'oauth.refresh_failed', entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label: row.label, reason: err.kind, status: 'degraded', failures } }, tx);
      }
      return u;
    });
    deps.log?.warn({ connectionId: row.id, provider: provider.id, reason: err.kind, httpStatus: err.status ?? null, failures }, 'token refresh failed');
    // A token that is still valid stays usable; an expired one is never handed out.
    if (!isExpired(row)) return { row: updated ?? row, secrets: held.secrets };
    throw tokenExpired(provider, waitMs / 1000);
  }

  /**
   * Background refresh: leases batches of connections expiring within the margin (across tenants,
   * ids only) and refreshes each in its tenant's context; then upgrades retired grants (see
   * upgrade.service.ts). Safe to run on every node at once. Pipelined (refresh-pipeline.ts):
   * `concurrency` provider calls run at all times, the next batch is claimed and read while the
   * current one is in flight, and each tenant's answers are written as they come (group commit).
   */
  async function sweep(opts: { batch?: number; concurrency?: number; marginMs?: number; maxMs?: number } = {}) {
    const started = Date.now();
    const stats = { claimed: 0, refreshed: 0, failed: 0, writes: 0, upgrades: { claimed: 0, upgraded: 0, refused: 0, failed: 0 } as UpgradeStats };
    await runRefreshPipeline({
      concurrency: opts.concurrency ?? 16,
      writeWidth: WRITE_WIDTH,
      // One lease id per batch: the claim took it, each refresh's write is fenced on it.
      claim: async () => {
        if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) return [];
        const t = now();
        const lease = randomUUID();
        const claimed = await store.claimRefreshBatch(lease, t, new Date(t.getTime() + (opts.marginMs ?? DEFAULT_REFRESH_MARGIN_S * 1000)), new Date(t.getTime() + SWEEP_LEASE_MS), opts.batch ?? 100);
        stats.claimed += claimed.length;
        return groupByTenant(claimed).map(([tenantId, ids]) => ({ tenantId, lease, ids }));
      },
      read: (group) => readHeld(group, stats),
      call: (item) => callProvider(item, stats),
      write: async (key, answers) => {
        stats.writes++;
        const warn = (err: unknown) => deps.log?.warn({ tenantId: key.tenantId, err: { message: (err as Error).message } }, 'background refresh failed');
        let written = await writeAnswers(key.tenantId, key.lease, answers).catch((err) => {
          warn(err);
          return null;
        });
        // One row's failure (a deadlock, a seal error) must not cost the others their new tokens:
        // the batch rolled back whole, so each answer is written again on its own.
        if (written === null && answers.length > 1) {
          written = 0;
          for (const a of answers) {
            written += await writeAnswers(key.tenantId, key.lease, [a]).catch((err) => {
              warn(err);
              stats.failed++;
              return 0;
            });
          }
        } else if (written === null) {
          written = 0;
          stats.failed += answers.length;
        }
        stats.refreshed += written;
      },
    });
    // Refreshes first: a token about to expire matters more than one that expires next month.
    const left = opts.maxMs === undefined ? undefined : Math.max(0, opts.maxMs - (Date.now() - started));
    if (left !== 0) stats.upgrades = await upgrader.sweep(left === undefined ? {} : { maxMs: left });
    return stats;
  }

  type Held = Fresh & { tenantId: string; lease: string };
  type Answer = { held: Held; provider: Provider; tokens: TokenSet };

  /** One tenant's share of a claimed batch, read and decrypted in one transaction; rows whose lease was lost are left to others. */
  async function readHeld(group: { tenantId: string; lease: string; ids: string[] }, stats: { failed: number }): Promise<Held[]> {
    try {
      const rows = await tenancy.withTenant(group.tenantId, async (tx) => {
        const out: Held[] = [];
        for (const row of await store.byIds(tx, group.ids)) out.push({ row, secrets: await store.secretsOf(tx, row), tenantId: group.tenantId, lease: group.lease });
        return out;
      });
      return rows.filter((h) => h.row.refresh_lease_owner === group.lease);
    } catch (err) {
      stats.failed += group.ids.length;
      deps.log?.warn({ tenantId: group.tenantId, err: { message: (err as Error).message } }, 'background refresh failed');
      return [];
    }
  }

  /** The provider's answer for one held connection, or null when there is nothing to write (failure recorded, lease run out). */
  async function callProvider(h: Held, stats: { failed: number }): Promise<Answer | null> {
    // Waited in the queue too long: the call and its write might outlast the lease (see CALL_BY_MS).
    if ((h.row.refresh_lease_until?.getTime() ?? 0) - now().getTime() < CALL_BY_MS) return null;
    let provider: Provider;
    try {
      provider = catalog.get(h.row.provider);
    } catch (err) {
      // A provider no longer in the catalog: nothing to call; its lease runs out.
      stats.failed++;
      deps.log?.warn({ connectionId: h.row.id, err: { message: (err as Error).message } }, 'background refresh failed');
      return null;
    }
    try {
      if (!h.secrets.refreshToken) {
        await refreshHeld(h.tenantId, provider, h, h.lease);
        return null;
      }
      const tokens = await deps.client.refresh(provider, h.row.config, h.secrets.refreshToken);
      deps.afterProviderAnswer?.(h.row.id);
      return { held: h, provider, tokens };
    } catch (err) {
      stats.failed++;
      await failed(h.tenantId, provider, h, h.lease, asTokenError(err)).catch(() => undefined);
      return null;
    }
  }

  /** Several answers of one tenant in one statement, each row still fenced on the lease; returns how many were written. */
  async function writeAnswers(tenantId: string, lease: string, answers: Answer[]): Promise<number> {
    return tenancy.withTenant(tenantId, async (tx) => {
      const ids = await store.writeRefreshed(tx, lease, answers.map((a) => ({
        row: a.held.row,
        secrets: { ...a.held.secrets, accessToken: a.tokens.accessToken, ...(a.tokens.refreshToken ? { refreshToken: a.tokens.refreshToken } : {}) },
        expiresAt: a.tokens.expiresIn === undefined ? null : new Date(now().getTime() + a.tokens.expiresIn * 1000),
      })));
      for (const a of answers) if (ids.has(a.held.row.id)) await noteRecovered(tx, tenantId, a.provider, a.held.row);
      const lost = answers.filter((a) => !ids.has(a.held.row.id)).map((a) => a.held.row.id);
      // The fence refused them: another holder took the lease (the write came too late).
      if (lost.length) deps.log?.warn({ tenantId, connectionIds: lost }, 'background refresh answers not written: the lease was taken over');
      return ids.size;
    });
  }

  return { fresh, sweep };
}
export type TokenRefresher = ReturnType<typeof createTokenRefresher>;

function groupByTenant(claimed: Array<{ id: string; tenant_id: string }>): Array<[string, string[]]> {
  const byTenant = new Map<string, string[]>();
  for (const c of claimed) {
    const ids = byTenant.get(c.tenant_id);
    if (ids) ids.push(c.id);
    else byTenant.set(c.tenant_id, [c.id]);
  }
  return [...byTenant];
}
