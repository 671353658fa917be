import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { openGcm, sealGcm } from '../../platform/crypto/aes-gcm.js';
import { Secret } from '../../platform/crypto/secret.js';
import { type ScopedTx, scopeTenantId } from '../../platform/db/tenancy.js';
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

export type VaultDeps = { repo: VaultRepo; ring: KeyRing; cache: DekCache; clock: Clock };

/**
 * Per-tenant envelope encryption. The tenant (or platform) scope is the transaction's, so a
 * caller cannot encrypt for one tenant inside another's context.
 */
export function createVault(deps: VaultDeps) {
  const { repo, ring, cache } = deps;

  async function unwrapRow(tenantId: string | null, row: { version: number; wrapped_dek: string; kek_id: string }): Promise<Buffer> {
    const scope = scopeName(tenantId);
    const kek = ring.byId(row.kek_id);
    if (!kek) throw new AppError('DECRYPTION_FAILED', `Master key '${row.kek_id}' is not configured; add it to KEYHOLD_MASTER_KEYS`);
    const dek = await kek.unwrap(row.wrapped_dek, dekContextFor(tenantId, row.version)).catch(() => {
      throw decryptionFailed();
    });
    cache.set(scope, row.version, dek);
    return dek;
  }

  /**
   * The newest active DEK, looked up once per transaction: a transaction that encrypts many
   * records (a refresh batch, a re-encryption batch) asks the database once, not per record.
   */
  const activeInTx = new WeakMap<object, Promise<{ version: number; dek: Buffer }>>();
  function activeDek(tx: ScopedTx): Promise<{ version: number; dek: Buffer }> {
    let found = activeInTx.get(tx);
    if (!found) {
      found = lookupActiveDek(tx);
      activeInTx.set(tx, found);
      found.catch(() => activeInTx.delete(tx));
    }
    return found;
  }

  /** The newest active DEK of the scope, created (version 1) on first use. */
  async function lookupActiveDek(tx: ScopedTx): Promise<{ version: number; dek: Buffer }> {
    const tenantId = scopeTenantId(tx);
    let row = await repo.latestActive(tx);
    if (!row) {
      await repo.lockScope(tx);
      row = await repo.latestActive(tx);
      if (!row) {
        await createVersion(tx, 1);
        row = (await repo.latestActive(tx))!;
      }
    }
    return { version: row.version, dek: cache.get(scopeName(tenantId), row.version) ?? (await unwrapRow(tenantId, row)) };
  }

  async function createVersion(tx: ScopedTx, version: number) {
    activeInTx.delete(tx);
    const dek = randomBytes(32);
    await repo.insert(tx, { version, wrapped_dek: await ring.current.wrap(dek, dekContextFor(scopeTenantId(tx), version)), kek_id: ring.current.id });
    dek.fill(0);
  }

  async function encrypt(tx: ScopedTx, purpose: string, recordId: string, plaintext: Secret | string): Promise<string> {
    const scope = scopeName(scopeTenantId(tx));
    const { version, dek } = await activeDek(tx);
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
    let dek = cache.get(scope, version);
    if (!dek) {
      const row = await repo.byVersion(tx, version);
      if (!row || row.state === 'retired') throw decryptionFailed();
      dek = await unwrapRow(tenantId, row);
    }
    try {
      return new Secret(openGcm(dek, Buffer.from(m[2]!, 'base64url'), aadFor(scope, purpose, recordId, version)).toString('utf8'));
    } catch {
      throw decryptionFailed();
    }
  }

  /** The DEK version a ciphertext was made with (for re-encryption sweeps and `keys status`). */
  const versionOf = (ciphertext: string) => Number(FORMAT.exec(ciphertext)?.[1] ?? Number.NaN);

  return { encrypt, decrypt, versionOf, activeDek, createVersion, unwrapRow };
}
export type Vault = ReturnType<typeof createVault>;
