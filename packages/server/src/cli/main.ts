import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { ConfigError, loadConfig } from '../platform/config.js';
import { createLogger, stdioLogDestination } from '../platform/logger.js';
import { runAdminCreate } from './admin-create.js';
import { runAdminInviteOrg } from './admin-invite.js';
import { runAuditVerify } from './audit-verify.js';
import { generateKey } from './generate-key.js';
import { runDemo } from './demo.js';
import { runKeys } from './keys.js';
import { runMigrate } from './migrate.js';
import { runStart } from './start.js';

const USAGE = `Usage: keyhold <command> [options]

Commands:
  start                       Start the server (embedded Postgres unless DATABASE_URL is set)
  demo                        Start with the provider sandbox and a demo tenant (offline try-out)
  migrate                     Apply pending database migrations and exit
  generate-key                Print a new random 32-byte key, base64
  audit verify [--tenant T]   Recompute audit hash chains (all, or one tenant by id or slug)
                              and report the first broken link; --json for machine output
  admin create --email E --role R [--password P]
                              Create a platform admin (prompts for the password when omitted)
  admin invite-org [--email E] [--days N]
                              Print a single-use invitation to create an organization
                              (for KEYHOLD_SIGNUP=invite; N days, default 7)
  keys status                 Master and data keys, and how many records use each
  keys rotate-master          Rewrap every data key under the first KEYHOLD_MASTER_KEYS entry
  keys rotate-tenant <T>|--all [--now]
                              New data key version; records re-encrypted by the server (or now)
  keys retire [<T>|--all]     Retire data key versions no record uses any more

Configuration comes from environment variables; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      tenant: { type: 'string' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      now: { type: 'boolean' },
      email: { type: 'string' },
      role: { type: 'string' },
      password: { type: 'string' },
      days: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  if (command === 'generate-key') {
    process.stdout.write(`${generateKey()}\n`);
    return 0;
  }
  const config = loadConfig();
  // `start` logs to stdout like any server; one-shot commands keep stdout for their output.
  const log = createLogger({ level: config.logLevel, destination: stdioLogDestination(command === 'start' || command === 'demo' ? 1 : 2) });
  switch (command) {
    case 'start':
      return runStart(config, log);
    case 'demo':
      return runDemo(config, log);
    case 'migrate':
      return runMigrate(config, log);
    case 'audit':
      if (sub === 'verify') return runAuditVerify(config, log, { tenant: values.tenant, json: values.json ?? false });
      break;
    case 'keys':
      return runKeys(config, log, { sub, target: positionals[2], all: values.all ?? false, now: values.now ?? false, json: values.json ?? false });
    case 'admin':
      if (sub === 'create') return runAdminCreate(config, log, { email: values.email, role: values.role, password: values.password });
      if (sub === 'invite-org') return runAdminInviteOrg(config, log, { email: values.email, days: values.days });
      break;
  }
  process.stderr.write(`Unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    // `start` keeps running until a signal; every other command exits with its status.
    if (code !== -1) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else if (err instanceof ZodError) {
      process.stderr.write(`keyhold: invalid input: ${err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}\n`);
    } else if (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    } else {
      process.stderr.write(`keyhold: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
