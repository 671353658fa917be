import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../platform/config.js';
import { openGcm, sealGcm } from '../../platform/crypto/aes-gcm.js';
import type { Logger } from '../../platform/logger.js';

/**
 * A master key (KEK) that wraps data keys. `context` is bound as AAD, so a wrapped DEK only
 * unwraps for the tenant and version it was made for. A KMS (AWS KMS Encrypt/Decrypt with
 * EncryptionContext, Vault transit with `context`) implements the same three members; see README.
 */
export interface KekProvider {
  readonly id: string;
  wrap(dek: Buffer, context: string): Promise<string>;
  unwrap(wrapped: string, context: string): Promise<Buffer>;
}

/** The local provider: AES-256-GCM key wrap under a 32-byte key from configuration. */
export function localKek(id: string, key: Buffer): KekProvider {
  if (key.length !== 32) throw new Error(`master key '${id}' must be 32 bytes`);
  return {
    id,
    wrap: async (dek, context) => sealGcm(key, dek, Buffer.from(context)).toString('base64url'),
    unwrap: async (wrapped, context) => openGcm(key, Buffer.from(wrapped, 'base64url'), Buffer.from(context)),
  };
}

/** Every configured KEK by id; `current` wraps new and rotated DEKs. */
export type KeyRing = { current: KekProvider; byId(id: string): KekProvider | undefined; ids: string[] };

export function keyRing(providers: KekProvider[]): KeyRing {
  if (providers.length === 0) throw new Error('at least one master key is needed');
  const map = new Map(providers.map((p) => [p.id, p]));
  if (map.size !== providers.length) throw new ConfigError(['KEYHOLD_MASTER_KEYS: master key ids must be unique']);
  return { current: providers[0]!, byId: (id) => map.get(id), ids: [...map.keys()] };
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses `id1:base64,id2:base64` (first = current). */
export function parseMasterKeys(spec: string, source: string): KekProvider[] {
  return spec
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(':');
      const id = entry.slice(0, i);
      const key = Buffer.from(entry.slice(i + 1), 'base64');
      if (i <= 0 || !KEY_ID.test(id) || key.length !== 32) {
        throw new ConfigError([`${source}: each entry must be <id>:<32 bytes base64> (keyhold generate-key); ids are letters, digits, _ or -`]);
      }
      return localKek(id, key);
    });
}

export type MasterKeyConfig = { env: string; dataDir: string; masterKeys?: string; masterKeyFile?: string };

/**
 * KEKs from KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEY_FILE. Outside production, with neither set,
 * a key is generated once into `<data dir>/master.key` (mode 0600) with a warning; in production
 * that is a start-up error.
 */
export async function loadKeyRing(cfg: MasterKeyConfig, log: Logger): Promise<KeyRing> {
  if (cfg.masterKeys) return keyRing(parseMasterKeys(cfg.masterKeys, 'KEYHOLD_MASTER_KEYS'));
  if (cfg.masterKeyFile) {
    const text = await readFile(cfg.masterKeyFile, 'utf8').catch(() => {
      throw new ConfigError([`KEYHOLD_MASTER_KEY_FILE: cannot read ${cfg.masterKeyFile}`]);
    });
    return keyRing(parseMasterKeys(text, 'KEYHOLD_MASTER_KEY_FILE'));
  }
  if (cfg.env === 'production') {
    throw new ConfigError(['KEYHOLD_MASTER_KEYS: required in production (or KEYHOLD_MASTER_KEY_FILE); create one with keyhold generate-key']);
  }
  const file = path.join(cfg.dataDir, 'master.key');
  let text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) {
    text = `dev-1:${randomBytes(32).toString('base64')}\n`;
    await mkdir(cfg.dataDir, { recursive: true });
    await writeFile(file, text, { mode: 0o600, flag: 'wx' }).catch(async () => {
      text = await readFile(file, 'utf8'); // another process created it first
    });
    log.warn({ file }, 'generated a development master key; set KEYHOLD_MASTER_KEYS in production and keep it out of backups of the database');
  }
  return keyRing(parseMasterKeys(text!, file));
}

/** The AAD a data key is wrapped under: its scope (tenant id or `platform`) and version. */
export const dekContextFor = (tenantId: string | null, version: number) => `keyhold:dek:${tenantId ?? 'platform'}:v${version}`;
