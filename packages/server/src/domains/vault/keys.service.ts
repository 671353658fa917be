import type { Clock } from '../../platform/clock.js';
import { systemActor } from '../../platform/context.js';
import type { ScopedTx, Tenancy } from '../../platform/db/tenancy.js';
import type { AuditEntryInput, AuditService } from '../audit/audit.service.js';
import type { DekCache } from './dek-cache.js';
import { type KekProvider, type KeyRing, dekContextFor } from './kek.js';
import { VAULT_RECORDS, type VaultRecordLocation } from './records.js';
import type { VaultRepo } from './vault.repo.js';
import { type Vault, scopeName } from './vault.service.js';

export type KeyStatus = { scope: string; version: number; kekId: string; state: string; records: number };

export type KeysDeps = {
  repo: VaultRepo;
  vault: Pick<Vault, 'encrypt' | 'decrypt' | 'wrapNewKey' | 'adoptNewKey'>;
  tenancy: Tenancy;
  ring: KeyRing;
  cache: DekCache;
  audit: Pick<AuditService, 'record' | 'recordEach'>;
  clock: Clock;
};

type Progress = (message: string) => void;

/**
 * Tenants per master-key rotation batch, and batches at a time: a batch's write transaction holds
 * its tenants' audit chain heads for a fraction of a second (a tenant's own audited action waits
 * that long at most), and three batches keep the database busy while one is being rewrapped.
 */
const MASTER_BATCH = 500;
const MASTER_PARALLEL = 3;
/** Master-key calls in flight per batch: a remote KMS answers in milliseconds, not microseconds. */
const KEK_CALLS_AT_ONCE = 16;
const DEADLOCK = '40P01';
const DEADLOCK_ATTEMPTS = 3;

/**
 * Online key rotation. Master-key rotation rewraps data keys only; data-key rotation adds a
 * version, re-encrypts records in batches (resumable: each batch commits on its own), and
 * `retire` retires old versions once no record uses them. Old versions stay readable until then,
 * so reads never fail while a rotation runs.
 */
export function createKeysService(deps: KeysDeps) {
  const { repo, tenancy, ring } = deps;
  const inScope = <T>(tenantId: string | null, fn: (tx: ScopedTx) => Promise<T>) =>
    tenantId === null ? tenancy.withPlatform(fn) : tenancy.withTenant(tenantId, fn);
  const locationsFor = (tenantId: string | null) => VAULT_RECORDS.filter((l) => l.scope === (tenantId === null ? 'platform' : 'tenant'));
  const ctxFor = (tenantId: string | null) => ({ tenantId, actor: systemActor });

  async function recordCounts(tx: ScopedTx, tenantId: string | null) {
    const total = new Map<number, number>();
    for (const loc of locationsFor(tenantId)) {
      for (const [v, n] of await repo.countByVersion(tx, loc)) total.set(v, (total.get(v) ?? 0) + n);
    }
    return total;
  }

  async function status(): Promise<KeyStatus[]> {
    const out: KeyStatus[] = [];
    for (const tenantId of await repo.scopes()) {
      await inScope(tenantId, async (tx) => {
        const counts = await recordCounts(tx, tenantId);
        for (const k of await repo.all(tx)) {
          out.push({ scope: scopeName(tenantId), version: k.version, kekId: k.kek_id, state: k.state, records: counts.get(k.version) ?? 0 });
        }
      });
    }
    return out;
  }

  /** The data key re-wrapped under `to` (both master-key calls happen with no transaction open). */
  async function rewrappedUnder(to: KekProvider, tenantId: string | null, k: { version: number; kek_id: string; wrapped_dek: string }) {
    const old = ring.byId(k.kek_id);
    if (!old) throw new Error(`master key '${k.kek_id}' (used by ${scopeName(tenantId)} v${k.version}) is not configured`);
    const context = dekContextFor(tenantId, k.version);
    const dek = await old.unwrap(k.wrapped_dek, context);
    try {
      return await to.wrap(dek, context);
    } finally {
      dek.fill(0);
    }
  }

  const kekRotated = (to: KekProvider, versions: Array<{ version: number; from: string }>): AuditEntryInput => ({ action: 'vault.kek_rotate', metadata: { to: to.id, versions } });

  /** One scope on its own (the platform's): read, rewrap outside, write guarded, audit. */
  async function rotateScopeMaster(tenantId: string | null, to: KekProvider): Promise<number> {
    const stale = (await inScope(tenantId, (tx) => repo.all(tx))).filter((k) => k.kek_id !== to.id);
    const rewraps: Array<{ version: number; from: string; wrapped_dek: string }> = [];
    for (const k of stale) rewraps.push({ version: k.version, from: k.kek_id, wrapped_dek: await rewrappedUnder(to, tenantId, k) });
    if (rewraps.length === 0) return 0;
    return inScope(tenantId, async (tx) => {
      await repo.lockScope(tx);
      const done: Array<{ version: number; from: string }> = [];
      for (const r of rewraps) {
        if (await repo.rewrap(tx, r.version, r.from, { wrapped_dek: r.wrapped_dek, kek_id: to.id })) done.push({ version: r.version, from: r.from });
      }
      if (done.length) await deps.audit.record(ctxFor(tenantId), kekRotated(to, done), tx);
      return done.length;
    });
  }

  /**
   * A batch of tenants: one statement reads their keys, the master keys are called with no
   * transaction open, and one transaction writes every rewrap that still applies (compared with
   * the wrapping read, so a concurrent rotation's write is never overwritten) with one audit
   * entry per tenant it changed. A deadlock with another batch writer is retried.
   */
  async function rotateMasterBatch(tenantIds: string[], to: KekProvider): Promise<number> {
    const stale = (await repo.keysOfTenants(tenantIds)).filter((k) => k.kek_id !== to.id);
    // In the order read (tenant by tenant), so every batch writer locks rows and heads alike.
    const rewraps = new Array<{ tenantId: string; version: number; from: string; fromKek: string; to: string }>(stale.length);
    let nextKey = 0;
    let failed = false; // one failure stops the others: nothing of this batch is written
    const rewrapper = async () => {
      for (let i = nextKey++; i < stale.length && !failed; i = nextKey++) {
        const k = stale[i]!;
        try {
          rewraps[i] = { tenantId: k.tenant_id, version: k.version, from: k.wrapped_dek, fromKek: k.kek_id, to: await rewrappedUnder(to, k.tenant_id, k) };
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: KEK_CALLS_AT_ONCE }, rewrapper));
    if (rewraps.length === 0) return 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await repo.crossTenant(async (tx) => {
          const done = await repo.rewrapEach(tx, rewraps, to.id);
          const fromKekOf = new Map(rewraps.map((r) => [`${r.tenantId}:${r.version}`, r.fromKek]));
          const byTenant = new Map<string, Array<{ version: number; from: string }>>();
          for (const d of done) {
            const fromKek = fromKekOf.get(`${d.tenant_id}:${d.version}`)!;
            byTenant.set(d.tenant_id, [...(byTenant.get(d.tenant_id) ?? []), { version: d.version, from: fromKek }]);
          }
          await deps.audit.recordEach(tx, [...byTenant].map(([tenantId, versions]) => ({ ctx: { tenantId, actor: systemActor }, input: kekRotated(to, versions) })));
          return done.length;
        });
      } catch (err) {
        if (attempt >= DEADLOCK_ATTEMPTS || (err as { code?: string }).code !== DEADLOCK) throw err;
      }
    }
  }

  /**
   * Rewraps every data key not under the current master key: the platform scope on its own,
   * tenants in batches (`batch` tenants each, `parallel` batches at a time). Each batch commits
   * on its own and only tenants with a key still under an old master key are visited, so a
   * re-run after an interruption continues with the rest, and a finished rotation re-runs as a
   * no-op. Master keys (possibly a remote KMS) are only called between transactions.
   */
  async function rotateMaster(progress: Progress = () => undefined, opts: { batch?: number; parallel?: number } = {}) {
    const to = ring.current;
    const scopes = await repo.scopesNotUnder(to.id);
    const tenants = scopes.filter((s): s is string => s !== null);
    let rewrapped = 0;
    if (scopes.includes(null)) {
      rewrapped = await rotateScopeMaster(null, to);
      progress(`platform: ${rewrapped} data keys rewrapped`);
    }
    const size = opts.batch ?? MASTER_BATCH;
    const batches = Array.from({ length: Math.ceil(tenants.length / size) }, (_, i) => tenants.slice(i * size, (i + 1) * size));
    let next = 0;
    let tenantsDone = 0;
    let failure: { err: unknown } | undefined;
    const worker = async () => {
      while (!failure && next < batches.length) {
        const batch = batches[next++]!;
        let n: number;
        try {
          n = await rotateMasterBatch(batch, to);
        } catch (err) {
          failure ??= { err };
          return;
        }
        rewrapped += n;
        tenantsDone += batch.length;
        progress(`${tenantsDone}/${tenants.length} tenants, ${rewrapped} data keys rewrapped`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? MASTER_PARALLEL) }, worker));
    if (failure) throw failure.err;
    return { scopes: scopes.length, rewrapped };
  }

  const nextVersion = (keys: Array<{ version: number }>) => Math.max(0, ...keys.map((k) => k.version)) + 1;

  /**
   * Adds a new data-key version for a tenant (null = platform); new writes use it at once. The
   * key is wrapped before its transaction opens; if another rotation took that version
   * meanwhile, it is wrapped again for the next one.
   */
  async function rotateScope(tenantId: string | null): Promise<{ version: number }> {
    for (;;) {
      const version = nextVersion(await inScope(tenantId, (tx) => repo.all(tx)));
      const fresh = await deps.vault.wrapNewKey(tenantId, version);
      const added = await inScope(tenantId, async (tx) => {
        await repo.lockScope(tx);
        if (nextVersion(await repo.all(tx)) !== version) return false;
        await repo.insert(tx, fresh.row);
        await deps.audit.record(ctxFor(tenantId), { action: 'vault.dek_rotate', metadata: { version } }, tx);
        return true;
      });
      if (added) {
        deps.vault.adoptNewKey(tenantId, version, fresh.dek);
        return { version };
      }
      fresh.dek.fill(0);
    }
  }

  /**
   * Re-encrypts records of a scope still on older versions, `batch` rows per transaction, so an
   * interruption loses at most one uncommitted batch and a later run continues where it stopped.
   * Stops early (`finished: false`) after `maxBatches` batches or once `budgetMs` has passed, so
   * a background job works in short slices. The audit entry is written when a scope is finished,
   * counting `previously` (records of earlier slices) too.
   */
  async function reencrypt(tenantId: string | null, opts: { batch?: number; maxBatches?: number; budgetMs?: number; previously?: number; progress?: Progress } = {}) {
    const batch = opts.batch ?? 200;
    const stopAt = performance.now() + (opts.budgetMs ?? Number.POSITIVE_INFINITY);
    let done = 0;
    let batches = 0;
    for (const loc of locationsFor(tenantId)) {
      for (;;) {
        // Only a slice that did some work may stop on time: every slice makes progress.
        const outOfTime = batches > 0 && performance.now() >= stopAt;
        if (batches >= (opts.maxBatches ?? Number.POSITIVE_INFINITY) || outOfTime) return { reencrypted: done, finished: false };
        const n = await inScope(tenantId, (tx) => reencryptBatch(tx, loc, batch));
        if (n > 0) batches++; // an empty batch did no work and does not count
        done += n;
        if (n > 0) opts.progress?.(`${scopeName(tenantId)}: ${done} records re-encrypted`);
        if (n < batch) break;
      }
    }
    const total = done + (opts.previously ?? 0);
    if (total > 0) await deps.audit.record(ctxFor(tenantId), { action: 'vault.reencrypt', metadata: { records: total } });
    return { reencrypted: done, finished: true };
  }

  async function reencryptBatch(tx: ScopedTx, loc: VaultRecordLocation, batch: number): Promise<number> {
    const latest = await repo.latestActive(tx);
    if (!latest) return 0;
    const rows = await repo.staleRows(tx, loc, latest.version, batch);
    for (const row of rows) {
      const plain = await deps.vault.decrypt(tx, loc.purpose, row.id, row.value);
      await repo.replaceCiphertext(tx, loc, row.id, row.value, await deps.vault.encrypt(tx, loc.purpose, row.id, plain));
    }
    return rows.length;
  }

  /** Retires every version older than the newest that no record uses any more; reports the rest. */
  async function retire(tenantId: string | null) {
    const result = await inScope(tenantId, async (tx) => {
      await repo.lockScope(tx);
      const keys = await repo.all(tx);
      const newest = Math.max(...keys.filter((k) => k.state === 'active').map((k) => k.version));
      const counts = await recordCounts(tx, tenantId);
      const retired: number[] = [];
      const inUse: Array<{ version: number; records: number }> = [];
      for (const k of keys.filter((k) => k.state === 'active' && k.version < newest)) {
        const records = counts.get(k.version) ?? 0;
        if (records > 0) inUse.push({ version: k.version, records });
        else {
          await repo.retire(tx, k.version, deps.clock());
          retired.push(k.version);
        }
      }
      if (retired.length) await deps.audit.record(ctxFor(tenantId), { action: 'vault.dek_retire', metadata: { versions: retired } }, tx);
      return { retired, inUse };
    });
    deps.cache.forget(scopeName(tenantId));
    return result;
  }

  return { status, rotateMaster, rotateScope, reencrypt, retire, scopes: () => repo.scopes() };
}
export type KeysService = ReturnType<typeof createKeysService>;
