import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, ConfigError } from './config.js';
import type { Logger } from './logger.js';

export type JwtKeys = { tenantKey: Buffer; platformKey: Buffer };

const FILE = 'jwt-keys.json';

/**
 * Configured signing keys, or — outside production only — keys generated once into
 * `<data dir>/jwt-keys.json` (mode 0600) so sessions survive restarts. Production without them
 * is a start-up error naming the variables.
 */
export async function resolveJwtKeys(config: Pick<Config, 'env' | 'dataDir' | 'jwt'>, log: Logger): Promise<JwtKeys> {
  const { tenantKey, platformKey } = config.jwt;
  if (tenantKey && platformKey && tenantKey.equals(platformKey)) {
    throw new ConfigError(['KEYHOLD_ADMIN_JWT_SECRET: must differ from KEYHOLD_JWT_SECRET (tenant and admin tokens are signed apart)']);
  }
  if (tenantKey && platformKey) return { tenantKey, platformKey };
  if (config.env === 'production') {
    const missing = [!tenantKey && 'KEYHOLD_JWT_SECRET', !platformKey && 'KEYHOLD_ADMIN_JWT_SECRET'].filter(Boolean);
    throw new ConfigError(missing.map((v) => `${v}: required in production (generate one with 'keyhold generate-key')`));
  }
  const file = path.join(config.dataDir, FILE);
  let stored: { tenant: string; platform: string };
  try {
    stored = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    stored = { tenant: randomBytes(32).toString('base64'), platform: randomBytes(32).toString('base64') };
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored), { mode: 0o600 });
    log.warn({ file }, 'generated development JWT signing keys; set KEYHOLD_JWT_SECRET and KEYHOLD_ADMIN_JWT_SECRET in production');
  }
  return {
    tenantKey: tenantKey ?? Buffer.from(stored.tenant, 'base64'),
    platformKey: platformKey ?? Buffer.from(stored.platform, 'base64'),
  };
}
