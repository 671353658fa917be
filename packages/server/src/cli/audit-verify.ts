import { createCoreServices } from '../deps.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { createDb, openDatabaseEndpoint } from '../platform/db/database.js';
import { isUuid } from '../platform/db/tenancy.js';
import type { Logger } from '../platform/logger.js';
import type { ChainReport } from '../domains/audit/audit.service.js';

/** `keyhold audit verify [--tenant id|slug] [--json]`: exit 0 when every chain holds, 1 otherwise. */
export async function runAuditVerify(config: Config, log: Logger, opts: { tenant?: string; json: boolean }): Promise<number> {
  const endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
  const db = createDb({ url: endpoint.appUrl, poolMax: 2, log });
  try {
    const services = createCoreServices({ db, clock: systemClock });
    let tenantId: string | undefined;
    if (opts.tenant) {
      tenantId = isUuid(opts.tenant) ? opts.tenant : await services.tenants.idBySlug(opts.tenant);
      if (!tenantId) {
        process.stderr.write(`No tenant with slug '${opts.tenant}'\n`);
        return 1;
      }
    }
    const reports = await services.audit.verify({ tenantId });
    process.stdout.write(opts.json ? `${JSON.stringify(reports, null, 2)}\n` : formatReports(reports));
    return reports.every((r) => r.ok) ? 0 : 1;
  } finally {
    await db.close();
    await endpoint.stop();
  }
}

export function formatReports(reports: ChainReport[]): string {
  const lines = reports.map((r) => {
    const chain = r.tenantId === null ? 'platform' : `tenant ${r.tenantId}`;
    if (r.ok) return `ok      ${chain}: ${r.entries} entries`;
    const b = r.firstBroken!;
    return `BROKEN  ${chain}: ${b.detail} [${b.reason}]`;
  });
  const broken = reports.filter((r) => !r.ok).length;
  lines.push(broken ? `${broken} of ${reports.length} chain(s) broken` : `${reports.length} chain(s) verified, all intact`);
  return `${lines.join('\n')}\n`;
}
