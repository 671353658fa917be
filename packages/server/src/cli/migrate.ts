import type { Config } from '../platform/config.js';
import { openDatabaseEndpoint } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrate.js';
import type { Logger } from '../platform/logger.js';

export async function runMigrate(config: Config, log: Logger): Promise<number> {
  const endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
  try {
    const result = await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
    process.stdout.write(
      result.applied.length
        ? `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}\n`
        : `Database is up to date (${result.alreadyApplied} migrations applied).\n`,
    );
    return 0;
  } finally {
    await endpoint.stop();
  }
}
