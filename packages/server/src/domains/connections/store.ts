import { randomBytes, randomUUID } from 'node:crypto';
import type { EventSource, EventType, UpdateChange } from '@keyhold/contract';
import type { Updateable } from 'kysely';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import type { ConnectionEventType, ConnectionStatus, ConnectionsTable } from '../../platform/db/schema.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { type TenantTx, afterCommit } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import { adapterFor } from '../../providers/registry.js';
import type { Catalog, Provider } from '../catalog/catalog.js';
import type { Outbox } from '../events/outbox.js';
import type { Vault } from '../vault/vault.service.js';
import type { ConnectionRow, ConnectionsRepo } from './connections.repo.js';
import type { WarmCache } from './warm-cache.js';

/** The vault purpose of a connection's secrets blob (AAD-bound to the row id). */
export const SECRETS_PURPOSE = 'connection.secrets';
/** The vault purpose of the webhook signing secret a rotation replaced (migration 0022). */
export const PREVIOUS_WEBHOOK_SECRET_PURPOSE = 'connection.previous_webhook_secret';

export type Secrets = Record<string, string>;
/** A connection's row and decrypted secrets, for the duration of one use. */
export type InUse = { row: ConnectionRow; secrets: Secrets };

/** What an event says beyond the status change: names, codes and counts, never values. */
export type Revocation = 'revoked' | 'not_supported' | 'failed';
export type EventDetail = {
  source: EventSource;
  by?: Actor;
  fields?: string[];
  account?: string;
  error?: string;
  failures?: number;
  nextAttemptAt?: string;
  revocation?: Revocation;
};
export type Note = { reason: ConnectionEventType; detail: EventDetail };

/** What a change may write besides the status. Secrets are encrypted here, nowhere else. */
export type ConnectionChange = {
  /** The complete new secrets (a rotation: `credential_version` + 1). */
  secrets?: Secrets;
  /** The complete new config; the routing key is derived from it again. */
  config?: Record<string, string>;
  authMode?: string;
  tokenExpiresAt?: Date | null;
  lastVerifiedAt?: Date;
  refreshFailures?: number;
  nextRefreshAt?: Date | null;
  /** Back to a clean refresh state (a new grant): no failures, no backoff, no lease. */
  resetRefresh?: boolean;
};

/** The outbox event of each connection event. */
export const OUTBOX_EVENT_OF: Record<ConnectionEventType, { type: EventType; change?: UpdateChange }> = {
  connected: { type: 'connection.created' },
  reconnected: { type: 'connection.updated', change: 'reconnected' },
  updated: { type: 'connection.updated', change: 'config' },
  destination_changed: { type: 'connection.updated', change: 'destination_changed' },
  enabled: { type: 'connection.updated', change: 'enabled' },
  disabled: { type: 'connection.updated', change: 'disabled' },
  verification_failed: { type: 'connection.updated', change: 'verification_failed' },
  rotated: { type: 'connection.rotated' },
  needs_reauth: { type: 'connection.needs_reauth' },
  degraded: { type: 'connection.degraded' },
  recovered: { type: 'connection.recovered' },
  refresh_failed: { type: 'connection.refresh_failed' },
  disconnected: { type: 'connection.disconnected' },
  deleted: { type: 'connection.deleted' },
};

/** Reasons that only say "the status became X": asking for the status it already has records nothing. */
const STATUS_ONLY = new Set<ConnectionEventType>(['needs_reauth', 'degraded', 'recovered', 'enabled', 'disabled']);

/**
 * The provider account a connection holds (shop domain, realm id, accounting organisation, Page,
 * workspace…): the config field the catalog names, or null when the provider has none.
 * Unique per provider across tenants, ignoring case (migrations 0008, 0016).
 */
export function routingKeyOf(provider: Provider, config: Record<string, string>): string | null {
  const field = provider.oauth?.routingKeyField;
  const value = field ? config[field]?.trim() : undefined;
  return value ? value : null;
}

/**
 * Where secrets written with this source came from: Keyhold's OAuth flow, or a tenant who saved
 * them. Other sources (refresh, test, proxy) keep the connection's origin as it is. Derived here,
 * on every write path, so no writer can forget it: a grant upgrade touches only 'oauth' tokens.
 */
const originOf = (source: EventSource): 'oauth' | 'tenant' | undefined =>
  source === 'oauth' ? 'oauth' : source === 'credentials' ? 'tenant' : undefined;

const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A provider's error string as an event may carry it: a plain code, else `fallback`. */
export const asErrorCode = (value: string | undefined, fallback: string) => (value !== undefined && ERROR_CODE.test(value) ? value : fallback);

/**
 * The opaque token of a per-connection webhook URL, for providers that sign per connection: random,
 * never derived from the id, so the URL names nothing and guessing one is hopeless (192 bits).
 */
const endpointTokenFor = (provider: Provider) => (adapterFor(provider).webhooks?.level === 'connection' ? randomBytes(24).toString('base64url') : null);
/** The secret field a provider signs a connection's webhooks with (connection-level webhooks only). */
const webhookSecretFieldOf = (provider: string) => {
  const hooks = adapterFor({ id: provider }).webhooks;
  return hooks?.level === 'connection' ? hooks.secretField : undefined;
};

export type ConnectionStoreDeps = {
  repo: ConnectionsRepo;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  catalog: Pick<Catalog, 'get'>;
  outbox: Pick<Outbox, 'append'>;
  clock: Clock;
  /** This process's warm connections: an entry is dropped whenever its row changes (and again once committed). */
  warm?: Pick<WarmCache, 'invalidate'>;
};

/**
 * The one module that writes connections. Every change of a connection is one `transition()` (or
 * `create`/`remove`, which end in the same note): in the caller's tenant transaction it writes the
 * row, a `connection_events` row and an outbox event, so all three exist or none does. Secrets are
 * encrypted and decrypted only here. Other domains reach connections through this store.
 */
export function createConnectionStore(deps: ConnectionStoreDeps) {
  const { repo, vault, outbox } = deps;

  const secretsOf = async (tx: TenantTx, row: ConnectionRow): Promise<Secrets> =>
    JSON.parse((await vault.decrypt(tx, SECRETS_PURPOSE, row.id, row.secrets)).reveal()) as Secrets;
  const seal = (tx: TenantTx, id: string, secrets: Secrets) => vault.encrypt(tx, SECRETS_PURPOSE, id, JSON.stringify(secrets));

  /**
   * This process's warm copy of a changed connection is dropped now and again once the change is
   * committed: a read begun before the commit still sees the old row, and must not keep it.
   */
  function dropWarm(tx: TenantTx, row: Pick<ConnectionRow, 'tenant_id' | 'provider' | 'label'>) {
    const { warm } = deps;
    if (!warm) return;
    warm.invalidate(row.tenant_id, row.provider, row.label);
    afterCommit(tx, () => warm.invalidate(row.tenant_id, row.provider, row.label));
  }

  /** The connection event and its outbox event, from one payload (the contract checks it). */
  async function note(tx: TenantTx, row: ConnectionRow, from: ConnectionStatus | null, to: ConnectionStatus | null, { reason, detail }: Note) {
    const { type, change } = OUTBOX_EVENT_OF[reason];
    const payload = { from, to, ...(change ? { change } : {}), ...detail };
    await outbox.append(tx, type, { connectionId: row.id, provider: row.provider, label: row.label }, payload as never);
    await repo.insertEvent(tx, { tenant_id: row.tenant_id, connection_id: row.id, type: reason, detail: payload });
  }

  /**
   * When new secrets change the field a provider signs its webhooks with, the replaced value is
   * kept (encrypted) with the time it was replaced: the provider may sign with it for a while yet
   * (`webhookSecretsOf` decides how long). Removing the secret (a disconnect) keeps nothing.
   */
  async function previousWebhookSecret(tx: TenantTx, row: ConnectionRow, next: Secrets): Promise<Updateable<ConnectionsTable>> {
    const field = webhookSecretFieldOf(row.provider);
    if (!field) return {};
    const before = (await secretsOf(tx, row))[field] ?? '';
    const after = next[field] ?? '';
    if (before === after) return {};
    if (before.trim() === '' || after.trim() === '') return { previous_webhook_secret: null, webhook_secret_replaced_at: null };
    return { previous_webhook_secret: await vault.encrypt(tx, PREVIOUS_WEBHOOK_SECRET_PURPOSE, row.id, before), webhook_secret_replaced_at: deps.clock() };
  }

  /**
   * The secrets a connection's webhooks verify with: the current value of `field`, and the one a
   * rotation replaced when that happened after `replacedSince` (two during a rotation window).
   */
  async function webhookSecretsOf(tx: TenantTx, row: ConnectionRow, field: string, replacedSince: Date): Promise<string[]> {
    const current = (await secretsOf(tx, row))[field];
    const previous = row.previous_webhook_secret && row.webhook_secret_replaced_at && row.webhook_secret_replaced_at > replacedSince
      ? (await vault.decrypt(tx, PREVIOUS_WEBHOOK_SECRET_PURPOSE, row.id, row.previous_webhook_secret)).reveal()
      : undefined;
    return [current, previous].filter((s): s is string => s !== undefined && s !== '');
  }

  async function fieldsOf(tx: TenantTx, row: ConnectionRow, change: ConnectionChange, source: EventSource): Promise<Updateable<ConnectionsTable>> {
    const origin = change.secrets ? originOf(source) : undefined;
    return {
      ...(change.secrets ? { secrets: await seal(tx, row.id, change.secrets), credential_version: row.credential_version + 1, ...(await previousWebhookSecret(tx, row, change.secrets)) } : {}),
      ...(origin ? { token_origin: origin } : {}),
      ...(change.config ? { config: JSON.stringify(change.config), routing_key: routingKeyOf(deps.catalog.get(row.provider), change.config) } : {}),
      ...(change.authMode !== undefined ? { auth_mode: change.authMode } : {}),
      ...(change.tokenExpiresAt !== undefined ? { token_expires_at: change.tokenExpiresAt } : {}),
      ...(change.lastVerifiedAt ? { last_verified_at: change.lastVerifiedAt } : {}),
      ...(change.refreshFailures !== undefined ? { refresh_failures: change.refreshFailures } : {}),
      ...(change.nextRefreshAt !== undefined ? { next_refresh_at: change.nextRefreshAt } : {}),
      ...(change.resetRefresh ? { refresh_failures: 0, next_refresh_at: null, refresh_lease_owner: null, refresh_lease_until: null } : {}),
    };
  }

  /** A new connection, within the tenant's quota (counted under a lock on the tenant row). */
  async function create(
    tx: TenantTx,
    input: { id?: string; tenantId: string; provider: Provider; label: string; secrets: Secrets; config: Record<string, string>; status: 'active' | 'disabled'; createdBy: string | null; tokenExpiresAt?: Date | null; lastVerifiedAt?: Date },
    detail: EventDetail,
  ): Promise<ConnectionRow> {
    const max = await repo.maxConnectionsForUpdate(tx);
    if ((await repo.count(tx)) >= max) throw new AppError('QUOTA_EXCEEDED', `Your plan allows ${max} connections; remove one or upgrade to add more`);
    const id = input.id ?? randomUUID();
    const row = await repo.insert(tx, {
      id,
      tenant_id: input.tenantId,
      provider: input.provider.id,
      label: input.label,
      auth_mode: input.provider.authMode,
      secrets: await seal(tx, id, input.secrets),
      config: JSON.stringify(input.config),
      routing_key: routingKeyOf(input.provider, input.config),
      status: input.status,
      is_active: input.status !== 'disabled',
      token_expires_at: input.tokenExpiresAt ?? null,
      last_verified_at: input.lastVerifiedAt ?? null,
      created_by: input.createdBy,
      token_origin: originOf(detail.source) ?? null,
      endpoint_token: endpointTokenFor(input.provider),
    });
    await note(tx, row, null, row.status, { reason: 'connected', detail });
    dropWarm(tx, row);
    return row;
  }

  type WriteOpts = Note & { change?: ConnectionChange; onlyFrom?: readonly ConnectionStatus[]; lease?: string; extra?: Updateable<ConnectionsTable> };

  /**
   * Moves a connection to `to` (with the fields of `change`) and records why. Locks the row and
   * reads its current status first, so the event's `from` is the truth, not the caller's copy.
   * Returns undefined (and writes nothing) when the row is gone, its status is not in `onlyFrom`,
   * or `lease` is given and no longer held. A status-only reason (`degraded`, `recovered`, …) for
   * the status the connection already has records nothing; every other reason always records.
   */
  const transition = (tx: TenantTx, conn: Pick<ConnectionRow, 'id'>, to: ConnectionStatus, opts: WriteOpts) => write(tx, conn, to, opts);

  /** A change that keeps the current status unless `to` says otherwise (config edit, rotation…): always one event. */
  const update = (tx: TenantTx, conn: Pick<ConnectionRow, 'id'>, change: ConnectionChange, why: Note & { to?: ConnectionStatus; lease?: string }) =>
    write(tx, conn, why.to, { reason: why.reason, detail: why.detail, change, ...(why.lease ? { lease: why.lease } : {}) });

  async function write(tx: TenantTx, conn: Pick<ConnectionRow, 'id'>, target: ConnectionStatus | undefined, opts: WriteOpts): Promise<ConnectionRow | undefined> {
    const current = await repo.byId(tx, conn.id, { lock: true });
    if (!current) return undefined;
    if (opts.onlyFrom && !opts.onlyFrom.includes(current.status)) return undefined;
    if (opts.lease && current.refresh_lease_owner !== opts.lease) return undefined;
    const to = target ?? current.status;
    const changed = current.status !== to;
    const records = changed || !STATUS_ONLY.has(opts.reason);
    if (!records && !opts.change && !opts.lease) return current;
    const set = { ...(await fieldsOf(tx, current, opts.change ?? {}, opts.detail.source)), ...opts.extra, status: to, is_active: to !== 'disabled' };
    const row = await repo.update(tx, current.id, set, opts.lease ? { lease: opts.lease } : {});
    if (!row) return undefined;
    if (records) await note(tx, row, current.status, to, opts);
    dropWarm(tx, row);
    return row;
  }

  /** Keeps the row (same id on reconnect) but no secrets, no token, no account: the routing key is free again. */
  const disconnect = (tx: TenantTx, conn: Pick<ConnectionRow, 'id'>, detail: EventDetail) =>
    transition(tx, conn, 'disabled', { reason: 'disconnected', detail, change: { secrets: {}, tokenExpiresAt: null, resetRefresh: true }, extra: { routing_key: null } });

  async function remove(tx: TenantTx, conn: Pick<ConnectionRow, 'id'>, detail: EventDetail): Promise<ConnectionRow | undefined> {
    const current = await repo.byId(tx, conn.id, { lock: true });
    if (!current) return undefined;
    await repo.remove(tx, current.id);
    await note(tx, current, current.status, null, { reason: 'deleted', detail });
    dropWarm(tx, current);
    return current;
  }

  /** The refresh lease and the connection as of taking it (with its secrets), or undefined if someone holds it. */
  async function takeRefreshLease(tx: TenantTx, id: string, lease: string, now: Date, until: Date): Promise<InUse | undefined> {
    const row = await repo.acquireLease(tx, id, lease, now, until);
    return row && { row, secrets: await secretsOf(tx, row) };
  }

  /** Gives the lease back, optionally with when to try next; no event (nothing the tenant sees changed). */
  const releaseRefreshLease = (tx: TenantTx, id: string, lease: string, set: { nextRefreshAt?: Date | null } = {}) =>
    repo.update(tx, id, set.nextRefreshAt !== undefined ? { next_refresh_at: set.nextRefreshAt } : {}, { lease });

  /**
   * Routine refreshes: new tokens, expiry and version for several connections in one statement,
   * each fenced on the lease. No event (a refresh is routine); a recovery is a transition of its own.
   */
  async function writeRefreshed(tx: TenantTx, lease: string, items: Array<{ row: ConnectionRow; secrets: Secrets; expiresAt: Date | null }>): Promise<Set<string>> {
    const sealed = [];
    for (const i of items) sealed.push({ id: i.row.id, secrets: await seal(tx, i.row.id, i.secrets), expiresAt: i.expiresAt, version: i.row.credential_version + 1 });
    return new Set(await repo.writeManyUnderLease(tx, lease, sealed));
  }

  /** Maps the unique violations of a connection write to what the caller did wrong. */
  function conflictOf(err: unknown, provider: Provider, label: string): AppError | null {
    if (isUniqueViolation(err, 'connections_routing_key')) {
      return new AppError('ACCOUNT_ALREADY_CONNECTED', `This ${provider.displayName} account is already connected (here or in another organization); disconnect it there first`);
    }
    if (isUniqueViolation(err, 'connections_tenant_provider_label')) {
      return new AppError('CONFLICT', `Credentials for service '${provider.id}' already exist${label === 'default' ? '' : ` with label '${label}'`}`);
    }
    return null;
  }

  return {
    secretsOf,
    webhookSecretsOf,
    byId: repo.byId,
    byIds: repo.byIds,
    byProviderLabel: repo.byProviderLabel,
    page: repo.page,
    events: repo.events,
    create,
    transition,
    update,
    disconnect,
    remove,
    touchUsed: repo.touchLastUsed,
    touchVerified: repo.touchVerified,
    takeRefreshLease,
    releaseRefreshLease,
    writeRefreshed,
    claimRefreshBatch: repo.claimRefreshBatch,
    claimUpgradeBatch: repo.claimUpgradeBatch,
    conflictOf,
  };
}
export type ConnectionStore = ReturnType<typeof createConnectionStore>;
