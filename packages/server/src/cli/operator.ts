import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { type Services, createServices } from '../deps.js';
import { loadCatalog } from '../domains/catalog/catalog.js';
import type { TenantPrincipal } from '../domains/identity/principal.js';
import { loadKeyRing } from '../domains/vault/kek.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { type PrincipalCtx, systemActor } from '../platform/context.js';
import { createDb, openDatabaseEndpoint } from '../platform/db/database.js';
import { isUuid } from '../platform/db/tenancy.js';
import { AppError } from '../platform/errors.js';
import { resolveJwtKeys } from '../platform/dev-keys.js';
import type { Logger } from '../platform/logger.js';
import { VERSION } from '../version.js';
import { CliError } from './command.js';

export { CliError } from './command.js';

/**
 * Who acts when an operator runs a command: the platform itself (actor `system`), with a request id
 * and a user agent naming the CLI, the OS user and the host, so the audit log tells CLI work apart.
 */
export function operatorCtx(): Omit<PrincipalCtx, 'tenantId'> {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep 'unknown'
  }
  return { actor: systemActor, requestId: `cli-${randomUUID()}`, ip: '127.0.0.1', userAgent: `keyhold-cli/${VERSION} (${user}@${hostname()})` };
}

/** The operator acting inside one tenant with the owner's rights (services check roles on it). */
export function operatorInTenant(tenantId: string): TenantPrincipal {
  return { ...operatorCtx(), tenantId, role: 'owner' };
}

/** Every service, configured as `keyhold start` configures them, on the located server's database. */
export async function withServices(config: Config, log: Logger, fn: (services: Services) => Promise<number>): Promise<number> {
  const endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
  const db = createDb({ url: endpoint.appUrl, poolMax: 4, log });
  try {
    const services = createServices({
      db, clock: systemClock, keys: await resolveJwtKeys(config, log), ring: await loadKeyRing(config, log),
      catalog: loadCatalog({ baseUrlOverrides: config.providerBaseUrls, authUrlOverrides: config.providerAuthUrls }),
      allowPrivateProviderUrls: config.allowPrivateProviderUrls, oauthApps: config.oauthApps, publicUrl: config.publicUrl, log,
      signup: config.signup, trialDays: config.trialDays, webhooks: config.webhooks, ...(config.email ? { email: config.email } : {}),
    });
    try {
      return await fn(services);
    } finally {
      await services.notifications.idle();
    }
  } finally {
    await db.close();
    await endpoint.stop();
  }
}

/** A tenant id from an id or a slug, or a CliError naming what was given. */
export async function resolveTenant(services: Pick<Services, 'tenants'>, ref: string): Promise<string> {
  const id = isUuid(ref) ? await idIfExists(services, ref) : await services.tenants.idBySlug(ref);
  if (!id) throw new CliError(`No tenant '${ref}'`);
  return id;
}

/** An id is looked up too: work under an id no tenant has fails later with a database error. */
async function idIfExists(services: Pick<Services, 'tenants'>, id: string): Promise<string | undefined> {
  try {
    return (await services.tenants.get(id)).id;
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}
