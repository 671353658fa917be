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
import { readSecret } from './prompt.js';

/** `keyhold admin create --email E --role R [--password P]`; without it, asks on a terminal (hidden) or reads stdin's first line. */
export async function runAdminCreate(config: Config, log: Logger, opts: { email?: string; role?: string; password?: string }): Promise<number> {
  if (!opts.email || !opts.role) {
    process.stderr.write('Usage: keyhold admin create --email <email> --role <SUPER_ADMIN|ADMIN|DEVELOPER|SUPPORT|MARKETING|FINANCE|SALES> [--password <password>]\n');
    return 2;
  }
  const password = opts.password ?? (await readSecret('Password (12 characters or more): '));
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
