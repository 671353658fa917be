import { createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, mask } from '../../platform/crypto/secret.js';
import { AppError } from '../../platform/errors.js';
import { adminClient, silentLogger, testDb, testRing, testServices } from '../../test-support/index.js';
import type { Tenant } from '../tenants/tenants.service.js';
import { createDekCache } from './dek-cache.js';
import { dekContextFor as dekContext, keyRing, loadKeyRing, localKek, parseMasterKeys } from './kek.js';
import { createVaultRepo } from './vault.repo.js';
import { aadFor, createVault } from './vault.service.js';

const db = testDb();
const services = testServices(db);
const vault = services.vault;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  [a, b] = await Promise.all([services.newTenant('vault-a'), services.newTenant('vault-b')]);
});
afterAll(() => db.close());

const inA = <T>(fn: Parameters<typeof db.withTenant<T>>[1]) => db.withTenant(a.id, fn);
const inB = <T>(fn: Parameters<typeof db.withTenant<T>>[1]) => db.withTenant(b.id, fn);
const isDecryptionFailure = (e: unknown) => e instanceof AppError && e.code === 'DECRYPTION_FAILED';

describe('vault encryption', () => {
  it('round-trips, with a fresh IV each time, in the documented format', async () => {
    const [c1, c2] = await inA(async (tx) => [await vault.encrypt(tx, 'test.secret', 'r1', 'sk_test_abc'), await vault.encrypt(tx, 'test.secret', 'r1', 'sk_test_abc')]);
    expect(c1).toMatch(/^kh1\.1\.[A-Za-z0-9_-]+$/);
    expect(c1).not.toBe(c2);
    const plain = await inA((tx) => vault.decrypt(tx, 'test.secret', 'r1', c1!));
    expect(plain).toBeInstanceOf(Secret);
    expect(plain.reveal()).toBe('sk_test_abc');
  });

  it('interoperates with a plain Node crypto decrypt of the documented format (known answer)', async () => {
    const ct = await inA((tx) => vault.encrypt(tx, 'test.kat', 'rec-9', 'The quick brown fox'));
    const [, version, body] = ct.split('.');
    const { rows } = await (async () => {
      const c = await adminClient();
      try {
        return await c.query('select wrapped_dek, kek_id from tenant_keys where tenant_id = $1 and version = $2', [a.id, Number(version)]);
      } finally {
        await c.end();
      }
    })();
    const kek = testRing().byId(rows[0].kek_id)!;
    const dek = await kek.unwrap(rows[0].wrapped_dek, `keyhold:dek:${a.id}:v${version}`);
    const raw = Buffer.from(body!, 'base64url');
    const d = createDecipheriv('aes-256-gcm', dek, raw.subarray(0, 12));
    d.setAAD(Buffer.from(`kh1|${a.id}|test.kat|rec-9|${version}`));
    d.setAuthTag(raw.subarray(raw.length - 16));
    expect(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString()).toBe('The quick brown fox');
  });

  it('matches a NIST AES-256-GCM test vector through the same primitive', async () => {
    // NIST GCM test case 16 (256-bit key, 96-bit IV, AAD): key, iv, pt, aad → ct, tag.
    const { openGcm } = await import('../../platform/crypto/aes-gcm.js');
    const key = Buffer.from('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308', 'hex');
    const iv = Buffer.from('cafebabefacedbaddecaf888', 'hex');
    const aad = Buffer.from('feedfacedeadbeeffeedfacedeadbeefabaddad2', 'hex');
    const ct = Buffer.from('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662', 'hex');
    const tag = Buffer.from('76fc6ece0f4e1768cddf8853bb2d551b', 'hex');
    const pt = openGcm(key, Buffer.concat([iv, ct, tag]), aad);
    expect(pt.toString('hex')).toBe('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
  });

  it('refuses a ciphertext moved to another record, purpose or tenant', async () => {
    const ct = await inA((tx) => vault.encrypt(tx, 'connection.secrets', 'rec-1', 'whsec_canary'));
    const attempts = [
      () => inA((tx) => vault.decrypt(tx, 'connection.secrets', 'rec-2', ct)),
      () => inA((tx) => vault.decrypt(tx, 'user.mfa_secret', 'rec-1', ct)),
      () => inB((tx) => vault.decrypt(tx, 'connection.secrets', 'rec-1', ct)),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toSatisfy(isDecryptionFailure);
  });

  it('rejects one flipped bit anywhere, and malformed input', async () => {
    const ct = await inA((tx) => vault.encrypt(tx, 'test.flip', 'r', 'secret-value'));
    const [prefix, version, body] = ct.split('.');
    const raw = Buffer.from(body!, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const flipped = Buffer.from(raw);
      flipped[i]! ^= 1 << (i % 8);
      await expect(inA((tx) => vault.decrypt(tx, 'test.flip', 'r', `${prefix}.${version}.${flipped.toString('base64url')}`))).rejects.toSatisfy(isDecryptionFailure);
    }
    for (const bad of ['', 'kh1.1.', 'kh2.1.AAAA', `kh1.99.${body}`, 'plaintext']) {
      await expect(inA((tx) => vault.decrypt(tx, 'test.flip', 'r', bad))).rejects.toSatisfy(isDecryptionFailure);
    }
  });

  it("does not unwrap tenant A's data key with tenant B's context", async () => {
    await inA((tx) => vault.encrypt(tx, 'test.x', 'r', 'x'));
    const c = await adminClient();
    const { rows } = await c.query('select wrapped_dek, kek_id from tenant_keys where tenant_id = $1 and version = 1', [a.id]);
    await c.end();
    const kek = testRing().byId(rows[0].kek_id)!;
    await expect(kek.unwrap(rows[0].wrapped_dek, dekContext(b.id, 1))).rejects.toThrow();
    await expect(kek.unwrap(rows[0].wrapped_dek, dekContext(a.id, 2))).rejects.toThrow();
    expect((await kek.unwrap(rows[0].wrapped_dek, dekContext(a.id, 1))).length).toBe(32);
  });

  it('refuses to decrypt when the master key that wrapped the DEK is missing', async () => {
    const tenant = await services.newTenant('vault-kek');
    const ct = await db.withTenant(tenant.id, (tx) => vault.encrypt(tx, 'test.k', 'r', 'v'));
    const other = createVault({ repo: createVaultRepo(db.kysely), ring: keyRing([localKek('other', randomBytes(32))]), cache: createDekCache(), clock: () => new Date(), tenancy: db });
    await expect(db.withTenant(tenant.id, (tx) => other.decrypt(tx, 'test.k', 'r', ct))).rejects.toThrow(/Master key 'test-1' is not configured/);
  });

  it('creates one DEK per tenant even under concurrent first use', async () => {
    const tenant = await services.newTenant('vault-race');
    const fresh = () => createVault({ repo: createVaultRepo(db.kysely), ring: testRing(), cache: createDekCache(), clock: () => new Date(), tenancy: db });
    const nodes = Array.from({ length: 8 }, fresh);
    const cts = await Promise.all(nodes.map((node, i) => db.withTenant(tenant.id, (tx) => node.encrypt(tx, 'test.race', `r${i}`, `v${i}`))));
    const c = await adminClient();
    const { rows } = await c.query('select version from tenant_keys where tenant_id = $1', [tenant.id]);
    await c.end();
    expect(rows).toEqual([{ version: 1 }]);
    for (const [i, ct] of cts.entries()) expect((await db.withTenant(tenant.id, (tx) => vault.decrypt(tx, 'test.race', `r${i}`, ct))).reveal()).toBe(`v${i}`);
  });
});

describe('secret hygiene', () => {
  it('Secret prints as [REDACTED] in every form', () => {
    const s = new Secret('sk_live_canary');
    expect(`${s}`).toBe('[REDACTED]');
    expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}');
    expect(inspect({ s })).not.toContain('canary');
    expect(s.reveal()).toBe('sk_live_canary');
  });

  it('masks for display', () => {
    expect(mask('abc')).toBe('***');
    expect(mask('1234567')).toBe('***');
    expect(mask('sk_test_4eC39HqLyjWDarjtT1zdp7dc123')).toBe('sk_****c123');
    expect(mask(new Secret('12345678'))).toBe('123****5678');
  });

  it('the DEK cache is bounded, expires entries and zeroes what it drops', () => {
    let now = 0;
    const cache = createDekCache({ max: 2, ttlMs: 1000, now: () => now });
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    const k3 = Buffer.alloc(32, 3);
    cache.set('t1', 1, k1);
    cache.set('t2', 1, k2);
    cache.get('t1', 1);
    cache.set('t3', 1, k3); // evicts t2, the least recently used
    expect(cache.get('t2', 1)).toBeUndefined();
    expect(k2.every((b) => b === 0)).toBe(true);
    expect(cache.get('t1', 1)).toBe(k1);
    now = 1001;
    expect(cache.get('t1', 1)).toBeUndefined();
    expect(k1.every((b) => b === 0)).toBe(true);
    expect(cache.get('t2', 1)).toBeUndefined(); // a key is never served for another scope
  });
});

describe('master keys', () => {
  it('parses id:base64 lists and names the variable on bad input', () => {
    const k = randomBytes(32).toString('base64');
    expect(parseMasterKeys(`new:${k},old:${k}`, 'KEYHOLD_MASTER_KEYS').map((p) => p.id)).toEqual(['new', 'old']);
    expect(() => parseMasterKeys('nokey', 'KEYHOLD_MASTER_KEYS')).toThrow(/KEYHOLD_MASTER_KEYS: each entry must be/);
    expect(() => parseMasterKeys(`a:${Buffer.alloc(16).toString('base64')}`, 'KEYHOLD_MASTER_KEYS')).toThrow(/32 bytes/);
  });

  it('is required in production; generated once (mode 0600) in development', async () => {
    const log = silentLogger();
    await expect(loadKeyRing({ env: 'production', dataDir: '/nonexistent' }, log)).rejects.toThrow(/KEYHOLD_MASTER_KEYS: required in production/);
    const { mkdtemp, stat } = await import('node:fs/promises');
    const dir = await mkdtemp('/tmp/keyhold-kek-');
    const r1 = await loadKeyRing({ env: 'development', dataDir: dir }, log);
    const r2 = await loadKeyRing({ env: 'development', dataDir: dir }, log);
    const dek = randomBytes(32);
    expect(await r2.current.unwrap(await r1.current.wrap(dek, 'ctx'), 'ctx')).toEqual(dek);
    expect((await stat(`${dir}/master.key`)).mode & 0o777).toBe(0o600);
  });

  it('binds the AAD to tenant, purpose, record and version', () => {
    expect(aadFor('t', 'p', 'r', 3).toString()).toBe('kh1|t|p|r|3');
  });
});
