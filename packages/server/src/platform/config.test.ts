import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const base = { NODE_ENV: 'test' } as NodeJS.ProcessEnv;

describe('configuration', () => {
  it('defaults to an embedded Postgres under ./.keyhold and port 3000 on loopback', () => {
    const c = loadConfig(base, '/srv/app');
    expect(c).toMatchObject({ host: '127.0.0.1', port: 3000, dataDir: '/srv/app/.keyhold' });
    expect(c.database).toMatchObject({ mode: 'embedded', pgDataDir: path.join('/srv/app/.keyhold', 'pg') });
  });

  it('accepts KEYHOLD_PORT, falling back to PORT', () => {
    expect(loadConfig({ ...base, PORT: '8080' }).port).toBe(8080);
    expect(loadConfig({ ...base, PORT: '8080', KEYHOLD_PORT: '9090' }).port).toBe(9090);
  });

  it('names the bad variable and its value', () => {
    const err = (() => {
      try {
        loadConfig({ ...base, KEYHOLD_PORT: 'eighty' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/KEYHOLD_PORT: .*\(got "eighty"\)/);
  });

  it('names a bad secret variable without echoing its value', () => {
    const canary = 'mysql://root:canary-pw@db/x';
    expect(() => loadConfig({ ...base, DATABASE_URL: canary })).toThrow(/DATABASE_URL: must start with postgres/);
    try {
      loadConfig({ ...base, DATABASE_URL: canary });
    } catch (e) {
      expect((e as Error).message).not.toContain('canary-pw');
    }
  });

  it('requires the app role password with an external DATABASE_URL', () => {
    expect(() => loadConfig({ ...base, DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold' })).toThrow(/KEYHOLD_DB_APP_PASSWORD: required/);
    const c = loadConfig({ ...base, DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold', KEYHOLD_DB_APP_PASSWORD: 'a-long-app-password-123' });
    expect(c.database).toMatchObject({ mode: 'external', appUrl: 'postgres://keyhold_app:a-long-app-password-123@db:5432/keyhold' });
  });

  it('runs jobs as the jobs role with an external DATABASE_URL, asking for its password only where jobs run', async () => {
    const { requireJobsUrl } = await import('./db/database.js');
    const db = { DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold', KEYHOLD_DB_APP_PASSWORD: 'a-long-app-password-123' };
    const withoutJobs = loadConfig({ ...base, ...db }).database;
    expect(() => requireJobsUrl(withoutJobs as { jobsUrl?: string })).toThrow(/KEYHOLD_DB_JOBS_PASSWORD: required when DATABASE_URL is set/);
    const c = loadConfig({ ...base, ...db, KEYHOLD_DB_JOBS_PASSWORD: 'a-long-jobs-password-45' });
    expect(c.database).toMatchObject({ jobsUrl: 'postgres://keyhold_jobs:a-long-jobs-password-45@db:5432/keyhold', jobsPassword: 'a-long-jobs-password-45' });
    const own = loadConfig({ ...base, ...db, KEYHOLD_JOBS_DATABASE_URL: 'postgres://jobs:secret-jobs-pw@pool:6432/keyhold' });
    expect(own.database).toMatchObject({ jobsUrl: 'postgres://jobs:secret-jobs-pw@pool:6432/keyhold' });
    expect(() => loadConfig({ ...base, ...db, KEYHOLD_DB_JOBS_PASSWORD: 'short-canary' })).toThrow(/KEYHOLD_DB_JOBS_PASSWORD: must be at least 16 characters$/m);
  });

  it('refuses the same signing key for tenant and admin tokens', async () => {
    const { resolveJwtKeys } = await import('./dev-keys.js');
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({ ...base, KEYHOLD_JWT_SECRET: key, KEYHOLD_ADMIN_JWT_SECRET: key });
    await expect(resolveJwtKeys(c, (await import('../test-support/index.js')).silentLogger())).rejects.toThrow(/KEYHOLD_ADMIN_JWT_SECRET: must differ/);
  });

  it('requires signing keys in production, naming them', async () => {
    const { resolveJwtKeys } = await import('./dev-keys.js');
    const c = loadConfig({ ...base, NODE_ENV: 'production' });
    await expect(resolveJwtKeys(c, (await import('../test-support/index.js')).silentLogger())).rejects.toThrow(/KEYHOLD_JWT_SECRET: required in production[\s\S]*KEYHOLD_ADMIN_JWT_SECRET/);
  });

  it('rejects unknown enum values with the allowed list', () => {
    expect(() => loadConfig({ ...base, KEYHOLD_LOG_LEVEL: 'loud' })).toThrow(/KEYHOLD_LOG_LEVEL: .*"info"/);
  });
});
