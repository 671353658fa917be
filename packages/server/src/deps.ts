import type { Clock } from './platform/clock.js';
import type { Db } from './platform/db/database.js';
import { createAuditRepo } from './domains/audit/audit.repo.js';
import { createAuditService } from './domains/audit/audit.service.js';
import { createTenantsRepo } from './domains/tenants/tenants.repo.js';
import { createTenantsService } from './domains/tenants/tenants.service.js';

/** The composition root: the only place that wires services together. */
export function createServices(db: Db, clock: Clock) {
  const audit = createAuditService({ repo: createAuditRepo(db.kysely), tenancy: db, clock });
  const tenants = createTenantsService({ repo: createTenantsRepo(db.kysely), tenancy: db, audit, clock });
  return { audit, tenants };
}

export type Services = ReturnType<typeof createServices>;
