import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMasterKeys } from '../../domains/vault/kek.js';
import type { Config } from '../../platform/config.js';
import { type CheckResult, fail, pass, warn } from './check.js';

const GENERATE = "generate one with 'keyhold generate-key'";

/** Signing keys: present in production, tenant and admin keys distinct. */
export function jwtKeysCheck(config: Config): CheckResult {
  const title = 'JWT signing keys';
  let { tenantKey, platformKey } = config.jwt;
  if (config.env === 'production' && (!tenantKey || !platformKey)) {
    const missing = [!tenantKey && 'KEYHOLD_JWT_SECRET', !platformKey && 'KEYHOLD_ADMIN_JWT_SECRET'].filter(Boolean).join(' and ');
    return fail('config.jwt', title, `${missing} not set (required in production)`, `Set ${missing}; ${GENERATE}`);
  }
  let source = 'KEYHOLD_JWT_SECRET / KEYHOLD_ADMIN_JWT_SECRET';
  if (!tenantKey || !platformKey) {
    const file = path.join(config.dataDir, 'jwt-keys.json');
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { tenant: string; platform: string };
      tenantKey ??= Buffer.from(stored.tenant, 'base64');
      platformKey ??= Buffer.from(stored.platform, 'base64');
      source = `development keys in ${file}`;
    } catch {
      return pass('config.jwt', title, `development keys will be generated into ${file} at the first start`);
    }
  }
  if (tenantKey.equals(platformKey)) {
    return fail('config.jwt', title, 'tenant and admin tokens are signed with the same key', `Give KEYHOLD_ADMIN_JWT_SECRET its own value; ${GENERATE}`);
  }
  return pass('config.jwt', title, `tenant and admin keys set and distinct (${source})`);
}

/** Master keys parse (ids, 32 bytes each); production has its own. */
export function masterKeysCheck(config: Config): CheckResult {
  const title = 'Vault master keys';
  try {
    if (config.masterKeys) return pass('config.master_keys', title, `${parseMasterKeys(config.masterKeys, 'KEYHOLD_MASTER_KEYS').length} key(s) from KEYHOLD_MASTER_KEYS`);
    if (config.masterKeyFile) {
      return pass('config.master_keys', title, `${parseMasterKeys(readFileSync(config.masterKeyFile, 'utf8'), 'KEYHOLD_MASTER_KEY_FILE').length} key(s) from ${config.masterKeyFile}`);
    }
  } catch (err) {
    const message = (err as Error & { problems?: string[] }).problems?.join('; ') ?? (err as Error).message;
    return fail('config.master_keys', title, message.replace(/: no such file.*$/, ': cannot be read'), `Fix the value: each entry is <id>:<32 bytes base64>; ${GENERATE}`);
  }
  if (config.env === 'production') {
    return fail('config.master_keys', title, 'no master key configured (required in production)', `Set KEYHOLD_MASTER_KEYS=main-1:<key> or KEYHOLD_MASTER_KEY_FILE; ${GENERATE}. Back it up apart from the database`);
  }
  return warn('config.master_keys', title, `development key in ${path.join(config.dataDir, 'master.key')}`, 'Fine for development; in production set KEYHOLD_MASTER_KEYS (and back it up apart from the database)');
}

const LOOPBACK = /^https?:\/\/(127\.|localhost|\[::1\])/;

/** The public URL browsers and providers use, and the OAuth redirect URIs derived from it. */
export function publicUrlCheck(config: Config): CheckResult {
  const title = 'Public URL and OAuth redirect URIs';
  const redirects = Object.keys(config.oauthApps).sort().map((id) => `${id}: ${config.publicUrl}/api/integrations/${id}/callback`);
  const listed = redirects.length ? `; register these redirect URIs with each provider's app — ${redirects.join(', ')}` : '; no OAuth app configured';
  if (config.env === 'production') {
    if (!config.publicUrl.startsWith('https://')) {
      return fail('config.public_url', title, `KEYHOLD_PUBLIC_URL is ${config.publicUrl}: not https`, 'Set KEYHOLD_PUBLIC_URL=https://<your host> (TLS is terminated in front of Keyhold; see docs/deploy.md)');
    }
    if (LOOPBACK.test(config.publicUrl)) {
      return fail('config.public_url', title, `KEYHOLD_PUBLIC_URL is ${config.publicUrl}: not reachable by browsers or providers`, 'Set KEYHOLD_PUBLIC_URL to the address users reach Keyhold at');
    }
  }
  return pass('config.public_url', title, `${config.publicUrl}${listed}`);
}

/** `/metrics` is not open to the world. */
export function metricsCheck(config: Config): CheckResult {
  const title = '/metrics protection';
  const mode = config.metrics.mode;
  if (mode === 'open') {
    const fix = 'Set KEYHOLD_METRICS=token with KEYHOLD_METRICS_TOKEN (or loopback, or off)';
    return config.env === 'production' ? fail('config.metrics', title, 'KEYHOLD_METRICS=open: anyone can scrape /metrics', fix) : warn('config.metrics', title, 'KEYHOLD_METRICS=open: anyone who reaches this server can scrape /metrics', fix);
  }
  if (mode === 'loopback' && config.env === 'production' && !config.trustProxy) {
    return warn('config.metrics', title, 'loopback-only, and KEYHOLD_TRUST_PROXY is off: behind a reverse proxy on this host every request comes from 127.0.0.1',
      'Use KEYHOLD_METRICS=token with KEYHOLD_METRICS_TOKEN, or set KEYHOLD_TRUST_PROXY=true behind your proxy');
  }
  const said = { token: 'bearer token required', loopback: 'served to 127.0.0.1/::1 only', off: 'not served' } as const;
  return pass('config.metrics', title, said[mode]);
}

export function configChecks(config: Config): CheckResult[] {
  return [jwtKeysCheck(config), masterKeysCheck(config), publicUrlCheck(config), metricsCheck(config)];
}
