// One Keyhold node that works the vault re-encryption queue, built services (dist/) on a shared
// database, for crash tests. Input: one JSON argument { appUrl, jobsUrl, masterKeys, batch,
// policy, maintenanceIntervalSeconds, pollingIntervalSeconds, stallAfterFirstBatch }.
// Prints `ready` once it takes jobs and a line per committed batch. With stallAfterFirstBatch it
// prints `stalled` after the first committed batch and hangs there, its job still active, until
// killed. SIGTERM stops it cleanly.
import { randomBytes } from 'node:crypto';
import { createServices } from '../dist/deps.js';
import { loadCatalog } from '../dist/domains/catalog/catalog.js';
import { keyRing, parseMasterKeys } from '../dist/domains/vault/kek.js';
import { registerVaultJobs } from '../dist/domains/vault/vault.jobs.js';
import { systemClock } from '../dist/platform/clock.js';
import { createDb } from '../dist/platform/db/database.js';
import { startJobRunner } from '../dist/platform/jobs.js';
import { createLogger } from '../dist/platform/logger.js';

const input = JSON.parse(process.argv[2]);
const log = createLogger({ level: process.env.WORKER_LOG ?? 'warn', destination: process.stderr });
const db = createDb({ url: input.appUrl, poolMax: 4, log });
const services = createServices({
  db,
  clock: systemClock,
  keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) },
  ring: keyRing(parseMasterKeys(input.masterKeys, 'worker')),
  catalog: loadCatalog({}),
  log,
});
const jobs = await startJobRunner({
  url: input.jobsUrl,
  log,
  maintenanceIntervalSeconds: input.maintenanceIntervalSeconds,
  pollingIntervalSeconds: input.pollingIntervalSeconds,
});

const progress = (message) => {
  process.stdout.write(`${message}\n`); // synchronous on a pipe: the parent sees it before any hang
  if (input.stallAfterFirstBatch) {
    process.stdout.write('stalled\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // hangs the whole process
  }
};
await registerVaultJobs(jobs, { reencrypt: (tenantId, opts) => services.vaultKeys.reencrypt(tenantId, { ...opts, batch: input.batch, progress }) }, input.policy);
process.stdout.write('ready\n');

process.once('SIGTERM', async () => {
  await jobs.stop();
  await db.close();
  process.exit(0);
});
