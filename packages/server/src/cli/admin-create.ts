import { createInterface } from 'node:readline';
import { type Services, createServices } from '../deps.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { systemActor } from '../platform/context.js';
import { createDb, openDatabaseEndpoint } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrate.js';
import { loadCatalog } from '../domains/catalog/catalog.js';
import { loadKeyRing } from '../domains/vault/kek.js';
import { resolveJwtKeys } from '../platform/dev-keys.js';
import type { Logger } from '../platform/logger.js';

/** `keyhold admin create --email E --role R [--password P]`; prompts for the password on a terminal. */
export async function runAdminCreate(config: Config, log: Logger, opts: { email?: string; role?: string; password?: string }): Promise<number> {
  if (!opts.email || !opts.role) {
    process.stderr.write('Usage: keyhold admin create --email <email> --role <SUPER_ADMIN|ADMIN|DEVELOPER|SUPPORT|MARKETING|FINANCE|SALES> [--password <password>]\n');
    return 2;
  }
  const password = opts.password ?? (await readPassword());
  return withPlatformServices(config, log, async (services) => {
    const admin = await services.adminAuth.create({ tenantId: null, actor: systemActor }, { email: opts.email!, role: opts.role as never, password });
    process.stdout.write(`Created platform admin ${admin.email} (${admin.role}), id ${admin.id}\n`);
    return 0;
  });
}

/** Runs a platform command with the services, next to a running server (its embedded Postgres) or alone. */
export async function withPlatformServices(config: Config, log: Logger, fn: (services: Services) => Promise<number>): Promise<number> {
  const endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
  const db = createDb({ url: endpoint.appUrl, poolMax: 2, log });
  try {
    await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
    const services = createServices({ db, clock: systemClock, keys: await resolveJwtKeys(config, log), ring: await loadKeyRing(config, log), catalog: loadCatalog({ baseUrlOverrides: config.providerBaseUrls }) });
    return await fn(services);
  } finally {
    await db.close();
    await endpoint.stop();
  }
}

/** Reads a password without echoing it on a terminal, or the first line of piped input. */
function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  return new Promise((resolve) => {
    if (process.stdin.isTTY) {
      process.stdout.write('Password: ');
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    }
    rl.once('line', (line) => {
      rl.close();
      if (process.stdin.isTTY) process.stdout.write('\n');
      resolve(line);
    });
    rl.once('close', () => resolve(''));
  });
}
