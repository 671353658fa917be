// Vault benchmark: decrypt with a cached data key, a first decrypt (DEK unwrap included), and
// the first design's per-credential PBKDF2 (100,000 iterations) for the same secret, side by side.
// Run: npm run bench:vault   (builds first)
import { createDecipheriv, createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fmt, report, startKeyholdForBench } from './lib.mjs';

const dist = (p) => new URL(`../packages/server/dist/${p}`, import.meta.url).href;
const { createDb } = await import(dist('platform/db/database.js'));
const { createLogger } = await import(dist('platform/logger.js'));
const { createServices } = await import(dist('deps.js'));
const { keyRing, parseMasterKeys } = await import(dist('domains/vault/kek.js'));
const { createDekCache } = await import(dist('domains/vault/dek-cache.js'));
const { createVault } = await import(dist('domains/vault/vault.service.js'));
const { createVaultRepo } = await import(dist('domains/vault/vault.repo.js'));
const { loadCatalog } = await import(dist('domains/catalog/catalog.js'));

const kh = await startKeyholdForBench();
const log = createLogger({ level: 'warn' });
try {
  const db = createDb({ url: kh.appUrl, poolMax: 4, log });
  const ring = keyRing(parseMasterKeys(kh.masterKeys, 'bench'));
  const services = createServices({ db, clock: () => new Date(), keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) }, ring, catalog: loadCatalog() });
  const tenant = await services.tenants.create({ actor: { type: 'system', id: null } }, { slug: 'vault-bench', name: 'Vault bench' });
  const secret = 'sk_live_51Hbench0000000000000000000000000000000000';
  const ct = await db.withTenant(tenant.id, (tx) => services.vault.encrypt(tx, 'bench.secret', 'rec-1', secret));

  // All three paths run inside one tenant transaction each time, so the comparison is crypto only.
  const timeIt = async (n, fn) => {
    return db.withTenant(tenant.id, async (tx) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn(tx, i);
      return ((performance.now() - t0) * 1000) / n; // µs/op
    });
  };
  await timeIt(200, (tx) => services.vault.decrypt(tx, 'bench.secret', 'rec-1', ct)); // warm up
  const cachedUs = await timeIt(20_000, (tx) => services.vault.decrypt(tx, 'bench.secret', 'rec-1', ct));
  // A cold node: the key is read and unwrapped before the transaction (never inside it), then used.
  const coldN = 300;
  const c0 = performance.now();
  for (let i = 0; i < coldN; i++) {
    const cold = createVault({ repo: createVaultRepo(db.kysely), ring, cache: createDekCache(), clock: () => new Date(), tenancy: db });
    await cold.prepare(tenant.id);
    await db.withTenant(tenant.id, (tx) => cold.decrypt(tx, 'bench.secret', 'rec-1', ct));
  }
  const coldUs = ((performance.now() - c0) * 1000) / coldN;
  // What every service transaction pays before it opens once the keys are cached.
  const prepareN = 200_000;
  const p0 = performance.now();
  for (let i = 0; i < prepareN; i++) await services.vault.prepare(tenant.id);
  const prepareUs = ((performance.now() - p0) * 1000) / prepareN;
  // The first design: a key derived per credential with PBKDF2-SHA256, 100,000 iterations, then AES-GCM.
  const salt = randomBytes(16);
  const key = pbkdf2Sync('platform-master-secret', salt, 100_000, 32, 'sha256');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(secret), c.final()]);
  const tag = c.getAuthTag();
  const pbkdf2Us = await timeIt(20, () => {
    const k = pbkdf2Sync('platform-master-secret', salt, 100_000, 32, 'sha256');
    const d = createDecipheriv('aes-256-gcm', k, iv);
    d.setAuthTag(tag);
    Buffer.concat([d.update(body), d.final()]);
  });
  console.log('# decrypt one credential (µs per operation, same secret, same process)');
  console.log(`cached DEK            ${fmt(cachedUs, 2).padStart(10)} µs`);
  console.log(`first decrypt (DB read + unwrap before, decrypt in its own transaction) ${fmt(coldUs, 1).padStart(8)} µs`);
  console.log(`prepare, keys cached  ${fmt(prepareUs, 2).padStart(10)} µs   (before each service transaction)`);
  console.log(`PBKDF2 100k baseline ${fmt(pbkdf2Us, 0).padStart(11)} µs   cached path is ${fmt(pbkdf2Us / cachedUs, 0)}x faster`);
  // Informational: the vault's figures have no goal of their own (P1 in bench/proxy has).
  await report('vault', [
    { measure: 'decrypt, cached DEK vs PBKDF2 100k per credential', unit: 'µs', keyhold: cachedUs, baseline: pbkdf2Us, higherIsBetter: false },
    { measure: 'first decrypt (DEK read + unwrap)', unit: 'µs', keyhold: coldUs, higherIsBetter: false },
    { measure: 'prepare, keys cached', unit: 'µs', keyhold: prepareUs, higherIsBetter: false },
  ]);
  await db.close();
} finally {
  await kh.stop();
}
