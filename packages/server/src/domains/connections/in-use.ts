import { literal } from '../../platform/db/one-trip.js';
import { boundedMap } from '../../platform/bounded-map.js';
import type { TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Provider } from '../catalog/catalog.js';
import type { TenantPrincipal } from '../identity/principal.js';
import type { ConnectionRow } from './connections.repo.js';
import type { ConnectionsDeps } from './connections.service.js';
import { Label } from './fields.js';
import type { InUse } from './store.js';
import type { WarmCache, WarmEntry } from './warm-cache.js';

type ConnectionState = { id: string; updated_at: Date; status: ConnectionRow['status']; is_active: boolean; token_expires_at: Date | null };

/** How long a decrypted connection may be reused from this process's memory (always re-validated first). */
const WARM_MS = 60_000;
const NOTED_MAX = 10_000;
/** How long a warm entry is trusted without asking the database again. */
const REVALIDATE_MS = 1000;

/**
 * Connections in use by business code and the proxy: read warm from this process's memory when
 * the row is unchanged, refreshed when the OAuth token is about to expire, `last_used` and the
 * audit entry written sparingly, and the proxy's health transitions.
 */
export function createConnectionUse(deps: Pick<ConnectionsDeps, 'store' | 'tenancy' | 'audit' | 'clock' | 'fresh' | 'readAsTenant'> & { warm: WarmCache }) {
  const { store, tenancy, audit, warm } = deps;
  /** The injected clock: warm entries age and revalidate on it like everything else. */
  const now = () => deps.clock().getTime();
  const noted = boundedMap<string, number>(NOTED_MAX);
  const readSecrets = store.secretsOf;
  const checking = new WeakMap<WarmEntry, Promise<ConnectionState | undefined>>();
  const reading = new Map<string, { read: ReturnType<typeof coldRead>; version: number }>();

  /**
   * One connection of the principal's tenant, ready to use: active, its OAuth token refreshed
   * when about to expire. Audited once per principal and connection per hour (`action`);
   * `last_used` written at most once a minute.
   */
  async function forUse(p: TenantPrincipal, provider: Provider, label: string, action: string): Promise<InUse> {
    // Labels come from headers and queries; one that no connection could have is simply not found.
    if (!Label.safeParse(label).success || label !== label.trim()) {
      throw new AppError('NOT_FOUND', `No ${provider.displayName} connection labelled like that for this organization`);
    }
    const key = warm.keyOf(p.tenantId, provider.id, label);
    // A row read while this process changed the connection may be the old one: used, never kept.
    const version = warm.versionOf(key);
    const keep = (inUse: InUse) => warm.versionOf(key) === version && warm.set(key, { ...inUse, cachedAt: now(), checkedAt: now() });
    const current = (await warmRead(p, key, provider, label)) ?? (await coldReadOnce(p, key, version, provider, label, action));
    if (!current.warm) keep(current.inUse);
    else await noteUse(p, current.inUse.row, provider, label, action);
    // Outside any transaction: a refresh may call the provider.
    let used: InUse;
    try {
      used = deps.fresh ? await deps.fresh(p.tenantId, current.inUse) : current.inUse;
    } catch (err) {
      warm.delete(key); // e.g. now needs_reauth: the next use reads the row again
      throw err;
    }
    if (used !== current.inUse) keep(used);
    return used;
  }

  /**
   * Warm path: the decrypted connection from this process's cache (at most a minute old), after
   * one round trip confirms it is still the same row, version and state. Anything else: null.
   */
  async function warmRead(p: TenantPrincipal, key: string, provider: Provider, label: string) {
    const hit = warm.get(key);
    if (!hit || !deps.readAsTenant || now() - hit.cachedAt > WARM_MS) return null;
    // Checked within the last second: trusted as is (a change made on another node shows within 1 s).
    if (now() - hit.checkedAt < REVALIDATE_MS) return { warm: true, inUse: { row: hit.row, secrets: hit.secrets } };
    // One check per entry at a time: a burst of parallel calls shares it instead of each sending its own.
    let check = checking.get(hit);
    if (!check) {
      check = deps.readAsTenant<ConnectionState>(
        p.tenantId,
        `select id, updated_at, status, is_active, token_expires_at from connections where tenant_id = ${literal(p.tenantId)} and provider = ${literal(provider.id)} and label = ${literal(label)}`,
      ).then(([row]) => row).finally(() => checking.delete(hit));
      checking.set(hit, check);
    }
    const state = await check;
    if (!state || state.id !== hit.row.id || state.updated_at.getTime() !== hit.row.updated_at.getTime() || !state.is_active) {
      warm.delete(key);
      return null;
    }
    hit.checkedAt = now();
    hit.row = { ...hit.row, status: state.status, token_expires_at: state.token_expires_at };
    return { warm: true, inUse: { row: hit.row, secrets: hit.secrets } };
  }

  /**
   * Parallel calls of one principal for one action that all find the connection cold (a burst
   * when the warm entry expires) share one read, one decryption and one audit check. Never shared
   * across a change this process made to the connection meanwhile: a call begun after it reads the
   * new row. Each action is read (and audited) on its own, so none goes unrecorded.
   */
  function coldReadOnce(p: TenantPrincipal, key: string, version: number, provider: Provider, label: string, action: string) {
    const readKey = `${key}\u0000${p.actor.type}\u0000${p.actor.id ?? ''}\u0000${action}`;
    const inFlight = reading.get(readKey);
    if (inFlight && inFlight.version === version) return inFlight.read;
    const read = coldRead(p, provider, label, action);
    const entry = { read, version };
    reading.set(readKey, entry);
    void read.finally(() => reading.get(readKey) === entry && reading.delete(readKey)).catch(() => undefined);
    return read;
  }

  async function coldRead(p: TenantPrincipal, provider: Provider, label: string, action: string) {
    const inUse = await tenancy.withTenant(p.tenantId, async (tx) => {
      const row = await store.byProviderLabel(tx, provider.id, label);
      if (!row) {
        throw new AppError('NOT_FOUND', `No ${provider.displayName} connection${label === 'default' ? '' : ` labelled '${label}'`} for this organization`, {
          actions: [{ label: `Connect ${provider.displayName}`, url: `/admin/integrations?connect=${provider.id}` }],
        });
      }
      if (!row.is_active) throw new AppError('INTEGRATION_UNAVAILABLE', `The ${provider.displayName} connection is disabled`);
      const secrets = await readSecrets(tx, row);
      await recordUse(tx, p, row, provider, label, action);
      return { row, secrets };
    });
    return { warm: false, inUse };
  }

  /** `last_used` at most once a minute, the audit entry at most once an hour (both also deduplicated in SQL). */
  async function recordUse(tx: TenantTx, p: TenantPrincipal, row: ConnectionRow, provider: Provider, label: string, action: string) {
    noted.set(`${p.actor.id}\u0000${row.id}`, deps.clock().getTime());
    await store.touchUsed(tx, row.id, deps.clock());
    await audit.recordAtMostEvery(3_600_000, p, { action, entity: { type: 'connection', id: row.id }, metadata: { serviceName: provider.id, label } }, tx);
  }
  async function noteUse(p: TenantPrincipal, row: ConnectionRow, provider: Provider, label: string, action: string) {
    const last = noted.get(`${p.actor.id}\u0000${row.id}`) ?? 0;
    if (deps.clock().getTime() - last < 60_000) return;
    await tenancy.withTenant(p.tenantId, (tx) => recordUse(tx, p, row, provider, label, action));
  }

  /** After the provider refused the token (401): one forced refresh, shared with other nodes. */
  const forceRefresh = (tenantId: string, current: InUse) => (deps.fresh ? deps.fresh(tenantId, current, { force: true }) : Promise.resolve(current));

  /** The proxy's breaker opened (`degraded`) or closed (`active`) for this connection. */
  const setHealth = (tenantId: string, id: string, healthy: boolean) =>
    tenancy.withTenant(tenantId, (tx) =>
      store.transition(tx, { id }, healthy ? 'active' : 'degraded', { reason: healthy ? 'recovered' : 'degraded', detail: { source: 'proxy' }, onlyFrom: ['active', 'degraded'] }));

  return { forUse, forceRefresh, setHealth };
}
