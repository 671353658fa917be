import { createServices } from '../deps.js';
import { loadCatalog } from '../domains/catalog/catalog.js';
import { loadKeyRing } from '../domains/vault/kek.js';
import { queueReencrypt } from '../domains/vault/vault.jobs.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { createDb, openDatabaseEndpoint, requireJobsUrl } from '../platform/db/database.js';
import { isUuid } from '../platform/db/tenancy.js';
import { resolveJwtKeys } from '../platform/dev-keys.js';
import { startJobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';

export type KeysCommand = { sub?: string; target?: string; all: boolean; now: boolean; json: boolean };

const USAGE = `Usage:
  keyhold keys status [--json]
  keyhold keys rotate-master
  keyhold keys rotate-tenant <tenant id|slug|platform> | --all   [--now]
  keyhold keys retire [<tenant id|slug|platform> | --all]`;

/** `keyhold keys …`: master- and data-key rotation, retirement and status. */
export async function runKeys(config: Config, log: Logger, cmd: KeysCommand): Promise<number> {
  if (!cmd.sub || !['status', 'rotate-master', 'rotate-tenant', 'retire'].includes(cmd.sub)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const endpoint = await openDatabaseEndpoint(config.database, log, { attachToRunning: true });
  const db = createDb({ url: endpoint.appUrl, poolMax: 4, log });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const services = createServices({ db, clock: systemClock, keys: await resolveJwtKeys(config, log), ring: await loadKeyRing(config, log), catalog: loadCatalog({ baseUrlOverrides: config.providerBaseUrls }) });
    const keys = services.vaultKeys;
    const resolve = async (t: string): Promise<string | null> => {
      if (t === 'platform') return null;
      const id = isUuid(t) ? t : await services.tenants.idBySlug(t);
      if (!id) throw new Error(`No tenant '${t}'`);
      return id;
    };
    const targets = async () => (cmd.all ? await keys.scopes() : cmd.target ? [await resolve(cmd.target)] : undefined);

    switch (cmd.sub) {
      case 'status': {
        const rows = await keys.status();
        if (cmd.json) out(JSON.stringify(rows, null, 2));
        else {
          out('scope                                 version  master key        state     records');
          for (const r of rows) out(`${r.scope.padEnd(38)}${String(r.version).padStart(7)}  ${r.kekId.padEnd(16)}  ${r.state.padEnd(8)}  ${r.records}`);
        }
        return 0;
      }
      case 'rotate-master': {
        const r = await keys.rotateMaster((m) => out(m));
        out(`Done: ${r.rewrapped} data key(s) rewrapped across ${r.scopes} scope(s). Records were not touched.`);
        return 0;
      }
      case 'rotate-tenant': {
        const scopes = await targets();
        if (!scopes) {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
        const jobs = cmd.now ? undefined : await startJobRunner({ url: requireJobsUrl(endpoint), log });
        try {
          for (const tenantId of scopes) {
            const { version } = await keys.rotateScope(tenantId);
            out(`${tenantId ?? 'platform'}: data key v${version} created`);
            if (jobs) await queueReencrypt(jobs, tenantId);
            else await keys.reencrypt(tenantId, { progress: (m) => out(m) });
          }
        } finally {
          await jobs?.stop();
        }
        out(cmd.now ? 'Records re-encrypted. Run `keyhold keys retire` to retire old versions.' : 'Re-encryption queued for the running server (see `keyhold keys status`); or re-run with --now.');
        return 0;
      }
      case 'retire': {
        let failed = false;
        for (const tenantId of (await targets()) ?? (await keys.scopes())) {
          const r = await keys.retire(tenantId);
          if (r.retired.length) out(`${tenantId ?? 'platform'}: retired v${r.retired.join(', v')}`);
          for (const k of r.inUse) {
            failed = true;
            out(`${tenantId ?? 'platform'}: v${k.version} still used by ${k.records} record(s); re-encrypt first`);
          }
        }
        return failed ? 1 : 0;
      }
    }
    return 2;
  } finally {
    await db.close();
    await endpoint.stop();
  }
}
