import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { boundedMap } from '../../platform/bounded-map.js';
import { openGcm, sealGcm } from '../../platform/crypto/aes-gcm.js';
import { Secret } from '../../platform/crypto/secret.js';
import { NeedsWorkOutsideTransaction, type ScopedTx, type Tenancy, scopeTenantId } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { DekCache } from './dek-cache.js';
import { type KeyRing, dekContextFor } from './kek.js';
import type { VaultRepo } from './vault.repo.js';

/** `kh1.<dek version>.<base64url(iv | ciphertext | tag)>` — see README. */
const FORMAT = /^kh1\.(\d{1,9})\.([A-Za-z0-9_-]+)$/;
export const isCiphertext = (v: string) => FORMAT.test(v);

export const scopeName = (tenantId: string | null) => tenantId ?? 'platform';
/** What a ciphertext is bound to: tenant, purpose, record and key version. */
export const aadFor = (scope: string, purpose: string, recordId: string, version: number) => Buffer.from(`kh1|${scope}|${purpose}|${recordId}|${version}`);

const decryptionFailed = () => new AppError('DECRYPTION_FAILED', 'A stored secret could not be decrypted; it may have been altered or moved');

export type VaultDeps = {
  repo: VaultRepo;
  ring: KeyRing;
  cache: DekCache;
  clock: Clock;
  /** Plain transactions (no preparation hook) for the vault's own short reads and inserts. */
  tenancy: Tenancy;
};

type KeyRow = { version: number; wrapped_dek: string; kek_id: string; state: string };
/** A scope's usable (non-retired) keys as last read, and those whose unwrap failed then. */
type ScopeKeys = { readAt: number; rows: KeyRow[]; failed: Map<number, unknown> };

/**
 * How long `prepare` trusts a scope's list of keys before reading it again. Rotations made by
 * another node are picked up within this time, or at once by the first transaction that meets
 * the new version (it asks for it outside the transaction). Shorter than the DEK cache's TTL.
 */
const KEY_LIST_FRESH_MS = 5 * 60_000;
/** A key this close to leaving the cache is unwrapped again before a transaction, not inside it. */
const MIN_KEY_LIFE_MS = 30_000;

/**
 * Per-tenant envelope encryption. The tenant (or platform) scope is the transaction's, so a
 * caller cannot encrypt or decrypt for one tenant inside another's context.
 *
 * The master key (KEK) may be a remote KMS, so it is never called inside a transaction:
 * `prepare(scope)` (run by the tenancy before each transaction opens) unwraps the scope's data
 * keys into the cache, and encrypt/decrypt only read the cache. A miss inside a transaction (a
 * first key, a version rotated by another node, an evicted key) rolls the transaction back,
 * readies the key outside it and runs the transaction again (`NeedsWorkOutsideTransaction`).
 */
export function createVault(deps: VaultDeps) {
  const { repo, ring, cache } = deps;
  // Key lists of as many scopes as the cache holds keys: a scope whose keys were evicted is read
  // again anyway, and a node serving 100,000 tenants must not keep a list for each (docs/scale.md).
  const known = boundedMap<string, ScopeKeys>(cache.max);
  const refreshing = new Map<string, Promise<ScopeKeys>>();
  const now = () => deps.clock().getTime();
  const inScope = <T>(tenantId: string | null, fn: (tx: ScopedTx) => Promise<T>) =>
    tenantId === null ? deps.tenancy.withPlatform(fn) : deps.tenancy.withTenant(tenantId, fn);

  async function unwrapRow(tenantId: string | null, row: KeyRow): Promise<Buffer> {
    const kek = ring.byId(row.kek_id);
    if (!kek) throw new AppError('DECRYPTION_FAILED', `Master key '${row.kek_id}' is not configured; add it to KEYHOLD_MASTER_KEYS`);
    const dek = await kek.unwrap(row.wrapped_dek, dekContextFor(tenantId, row.version)).catch(() => {
      throw decryptionFailed();
    });
    cache.set(scopeName(tenantId), row.version, dek);
    return dek;
  }

  /** A new random data key and its wrapped form for `version` (a KEK call: outside transactions). */
  async function wrapNewKey(tenantId: string | null, version: number) {
    const dek = randomBytes(32);
    const wrapped_dek = await ring.current.wrap(dek, dekContextFor(tenantId, version));
    return { dek, row: { version, wrapped_dek, kek_id: ring.current.id } };
  }

  /** Caches a key this node just wrapped and stored, and has the scope's list read again. */
  function adoptNewKey(tenantId: string | null, version: number, dek: Buffer) {
    cache.set(scopeName(tenantId), version, dek);
    known.delete(scopeName(tenantId));
  }

  /** Version 1 of a scope, wrapped before its short insert; a concurrent creator's key wins. */
  async function createFirstVersion(tenantId: string | null): Promise<KeyRow[]> {
    const fresh = await wrapNewKey(tenantId, 1);
    const rows = await inScope(tenantId, async (tx) => {
      await repo.lockScope(tx);
      if (!(await repo.latestActive(tx))) await repo.insert(tx, fresh.row);
      return repo.all(tx);
    });
    if (rows.some((r) => r.version === 1 && r.wrapped_dek === fresh.row.wrapped_dek)) cache.set(scopeName(tenantId), 1, fresh.dek);
    else fresh.dek.fill(0);
    return rows;
  }

  /** Reads the scope's keys in a short transaction of its own, then unwraps the uncached ones. */
  async function refresh(tenantId: string | null, create: boolean): Promise<ScopeKeys> {
    const scope = scopeName(tenantId);
    let rows: KeyRow[] = await inScope(tenantId, (tx) => repo.all(tx));
    if (create && !rows.some((r) => r.state === 'active')) rows = await createFirstVersion(tenantId);
    const keys: ScopeKeys = { readAt: now(), rows: rows.filter((r) => r.state !== 'retired'), failed: new Map() };
    for (const row of keys.rows) {
      if (!cache.get(scope, row.version, MIN_KEY_LIFE_MS)) await unwrapRow(tenantId, row).catch((err) => keys.failed.set(row.version, err));
    }
    known.set(scope, keys);
    return keys;
  }

  /** One refresh per scope at a time: a burst of first requests makes one read and one unwrap each. */
  function refreshOnce(tenantId: string | null, create: boolean): Promise<ScopeKeys> {
    const scope = scopeName(tenantId);
    const running = refreshing.get(scope);
    if (running) return running;
    const started = refresh(tenantId, create).finally(() => refreshing.delete(scope));
    refreshing.set(scope, started);
    return started;
  }

  const isReady = (scope: string, keys: ScopeKeys) =>
    now() - keys.readAt < KEY_LIST_FRESH_MS && keys.rows.every((r) => keys.failed.has(r.version) || cache.get(scope, r.version, MIN_KEY_LIFE_MS));

  /**
   * Makes sure the scope's data keys are in the cache; call it with no transaction open. Cheap
   * when they are (a map lookup per key). Creates no key, and a key that cannot be unwrapped
   * (KMS down, master key missing) fails only the operations that need it, not this call.
   */
  async function prepare(tenantId: string | null): Promise<void> {
    const keys = known.get(scopeName(tenantId));
    if (keys && isReady(scopeName(tenantId), keys)) return;
    await refreshOnce(tenantId, false);
  }

  /** What a transaction found missing, readied outside it: `version` or, with `create`, a first key. */
  async function ready(tenantId: string | null, need: { version: number } | { create: true }) {
    const scope = scopeName(tenantId);
    const satisfied = (keys: ScopeKeys) =>
      'version' in need ? cache.get(scope, need.version) !== undefined || keys.failed.has(need.version) : keys.rows.some((r) => r.state === 'active');
    let keys = await refreshOnce(tenantId, 'create' in need);
    if (!satisfied(keys)) keys = await refresh(tenantId, 'create' in need); // the shared read began before the key existed
    if ('version' in need && keys.failed.has(need.version)) throw keys.failed.get(need.version);
  }

  const notReady = (tenantId: string | null, need: { version: number } | { create: true }) => new NeedsWorkOutsideTransaction(() => ready(tenantId, need));

  /**
   * The newest active version, looked up once per transaction: a transaction that encrypts many
   * records (a refresh batch, a re-encryption batch) asks the database once, not per record.
   */
  const activeInTx = new WeakMap<object, Promise<number>>();
  function activeVersion(tx: ScopedTx): Promise<number> {
    let found = activeInTx.get(tx);
    if (!found) {
      found = repo.latestActive(tx).then((row) => {
        if (!row) throw notReady(scopeTenantId(tx), { create: true });
        return row.version;
      });
      activeInTx.set(tx, found);
      found.catch(() => activeInTx.delete(tx));
    }
    return found;
  }

  async function encrypt(tx: ScopedTx, purpose: string, recordId: string, plaintext: Secret | string): Promise<string> {
    const scope = scopeName(scopeTenantId(tx));
    const version = await activeVersion(tx);
    // Read from the cache right before use (no await in between): an evicted key is zeroed.
    const dek = cache.get(scope, version);
    if (!dek) throw notReady(scopeTenantId(tx), { version });
    const value = plaintext instanceof Secret ? plaintext.reveal() : plaintext;
    const sealed = sealGcm(dek, Buffer.from(value, 'utf8'), aadFor(scope, purpose, recordId, version));
    return `kh1.${version}.${sealed.toString('base64url')}`;
  }

  async function decrypt(tx: ScopedTx, purpose: string, recordId: string, ciphertext: string): Promise<Secret> {
    const m = FORMAT.exec(ciphertext);
    if (!m) throw decryptionFailed();
    const version = Number(m[1]);
    const tenantId = scopeTenantId(tx);
    const scope = scopeName(tenantId);
    const dek = cache.get(scope, version);
    if (!dek) {
      const row = await repo.byVersion(tx, version);
      if (!row || row.state === 'retired') throw decryptionFailed();
      throw notReady(tenantId, { version });
    }
    try {
      return new Secret(openGcm(dek, Buffer.from(m[2]!, 'base64url'), aadFor(scope, purpose, recordId, version)).toString('utf8'));
    } catch {
      throw decryptionFailed();
    }
  }

  /** The DEK version a ciphertext was made with (for re-encryption sweeps and `keys status`). */
  const versionOf = (ciphertext: string) => Number(FORMAT.exec(ciphertext)?.[1] ?? Number.NaN);

  /** How many scopes' key lists this node keeps (bounded by the DEK cache's size). */
  const scopesKept = () => known.size;

  return { prepare, encrypt, decrypt, versionOf, wrapNewKey, adoptNewKey, scopesKept };
}
export type Vault = ReturnType<typeof createVault>;
