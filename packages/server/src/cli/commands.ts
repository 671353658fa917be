import type { Command } from './command.js';

// Each command's code is loaded only when it runs, so --help and --version answer at once.
const adminCreate = () => import('./admin-create.js');
const adminInvite = () => import('./admin-invite.js');
const auditVerify = () => import('./audit-verify.js');
const demo = () => import('./demo.js');
const doctor = () => import('./doctor/doctor.js');
const importEnv = () => import('./import-env/import-env.js');
const keys = () => import('./keys.js');
const migrate = () => import('./migrate.js');
const start = () => import('./start.js');
const tenants = () => import('./tenants.js');
const users = () => import('./users.js');

const json = { json: { type: 'boolean' } } as const;
const tenantRef = '<tenant id or slug>';

const keysCommand = (sub: string, summary: string, args?: string): Command => ({
  path: ['keys', sub],
  summary,
  ...(args ? { args } : {}),
  options: { all: { type: 'boolean' }, now: { type: 'boolean' }, ...json },
  maxPositionals: 1,
  locatesServer: true,
  run: async ({ config, log, values, positionals }) => (await keys()).runKeys(config, log, { sub, target: positionals[0], all: values.all === true, now: values.now === true, json: values.json === true }),
});

/** Every `keyhold` command, in the order `keyhold --help` lists them. */
export const COMMANDS: Command[] = [
  { path: ['start'], summary: 'Start the server (embedded Postgres unless DATABASE_URL is set)', logsToStdout: true, run: async ({ config, log }) => (await start()).runStart(config, log) },
  { path: ['demo'], summary: 'Start with the provider sandbox and a demo tenant (offline try-out; state kept in <data dir>/demo)', logsToStdout: true, run: async ({ config, log }) => (await demo()).runDemo(config, log) },
  { path: ['migrate'], summary: 'Apply pending database migrations and exit', locatesServer: true, run: async ({ config, log }) => (await migrate()).runMigrate(config, log) },
  { path: ['doctor'], summary: 'Check configuration, database, isolation and deployment; each check pass/warn/fail with a fix', args: '[--json]', options: json, locatesServer: true, run: async (ctx) => (await doctor()).runDoctor(ctx),
    onConfigError: async (err, ctx) => (await doctor()).runDoctorWithoutConfig(err, ctx),
    details: 'Exits 1 when any check fails (warnings alone exit 0). --json prints {"ok", "checks": [{id, status, summary, fix?}]}.' },
  { path: ['generate-key'], summary: 'Print a new random 32-byte key, base64', standalone: async () => (process.stdout.write(`${(await import('./generate-key.js')).generateKey()}\n`), 0) },
  { path: ['tenants', 'list'], summary: 'List tenants (slug, status, plan, created, name)', args: '[--status S] [--plan P] [--search TEXT] [--limit N] [--json]',
    options: { status: { type: 'string' }, plan: { type: 'string' }, search: { type: 'string' }, limit: { type: 'string' }, ...json }, locatesServer: true, run: async (ctx) => (await tenants()).runTenantsList(ctx) },
  { path: ['tenants', 'create'], summary: 'Create a tenant (on a trial, or --active)', args: '--slug S --name N [--plan starter|professional|performance|enterprise] [--active] [--json]',
    options: { slug: { type: 'string' }, name: { type: 'string' }, plan: { type: 'string' }, active: { type: 'boolean' }, ...json }, locatesServer: true, run: async (ctx) => (await tenants()).runTenantsCreate(ctx) },
  { path: ['tenants', 'suspend'], summary: 'Suspend a tenant: its sessions and keys stop working on their next request', args: `${tenantRef} [--reason TEXT]`,
    options: { reason: { type: 'string' } }, maxPositionals: 1, locatesServer: true, run: async (ctx) => (await tenants()).runTenantsStatus('suspend')(ctx) },
  { path: ['tenants', 'reactivate'], summary: 'Make a suspended (or expired) tenant active again', args: tenantRef, options: { reason: { type: 'string' } }, maxPositionals: 1, locatesServer: true, run: async (ctx) => (await tenants()).runTenantsStatus('reactivate')(ctx) },
  { path: ['tenants', 'delete'], summary: 'Delete a tenant (kept as cancelled, slug never reused; users and keys locked out)', args: `${tenantRef} --yes [--reason TEXT]`,
    options: { yes: { type: 'boolean' }, reason: { type: 'string' } }, maxPositionals: 1, locatesServer: true, run: async (ctx) => (await tenants()).runTenantsStatus('delete')(ctx) },
  { path: ['users', 'reset-password'], summary: "Reset a tenant user's password: email a reset link when email is configured, else print a one-time password", args: '--tenant T --email E [--print]',
    details: '--print prints a one-time password even when email is configured. The one-time password works once: the user must choose a new one\n(the console asks; the API reports mustChangePassword). Every session of the user ends.',
    options: { tenant: { type: 'string' }, email: { type: 'string' }, print: { type: 'boolean' } }, locatesServer: true, run: async (ctx) => (await users()).runUsersResetPassword(ctx) },
  { path: ['import-env'], summary: "Import a single-tenant app's provider variables (.env) as a tenant's connections", args: '--tenant T [--file .env] [--dry-run] [--verify] [--json]',
    details: 'Reads well-known variables (STRIPE_SECRET_KEY, RESEND_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY, SHOPIFY_*, UNLEASHED_API_ID/KEY,\nAMAZON_*, XERO_*, QUICKBOOKS_*) from the file (default ./.env) and saves them through the credentials service (validated,\nencrypted, audited). Reports what it imported and skipped, and why; never prints a value. --verify checks each with the provider first.\nSee docs/migrating-from-single-tenant.md.',
    options: { tenant: { type: 'string' }, file: { type: 'string' }, 'dry-run': { type: 'boolean' }, verify: { type: 'boolean' }, ...json }, locatesServer: true, run: async (ctx) => (await importEnv()).runImportEnv(ctx) },
  { path: ['audit', 'verify'], summary: 'Recompute audit hash chains and report the first broken link (exit 1 if any)', args: `[--tenant ${tenantRef}] [--json]`,
    options: { tenant: { type: 'string' }, ...json }, locatesServer: true, run: async ({ config, log, values }) => (await auditVerify()).runAuditVerify(config, log, { tenant: values.tenant as string | undefined, json: values.json === true }) },
  { path: ['admin', 'create'], summary: 'Create a platform admin (asks for the password, hidden, or reads it from a pipe)', args: '--email E --role SUPER_ADMIN|ADMIN|DEVELOPER|SUPPORT|MARKETING|FINANCE|SALES [--password P]',
    details: 'Without --password the password is read from the terminal without echo, or as the first line of stdin:\n  printf \'%s\\n\' "$PASSWORD" | keyhold admin create --email ops@example.com --role SUPER_ADMIN',
    options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' } }, locatesServer: true,
    run: async ({ config, log, values }) => (await adminCreate()).runAdminCreate(config, log, { email: values.email as string | undefined, role: values.role as string | undefined, password: values.password as string | undefined }) },
  { path: ['admin', 'invite-org'], summary: 'Print a single-use invitation to create an organization (KEYHOLD_SIGNUP=invite)', args: '[--email E] [--days N]',
    options: { email: { type: 'string' }, days: { type: 'string' } }, locatesServer: true,
    run: async ({ config, log, values }) => (await adminInvite()).runAdminInviteOrg(config, log, { email: values.email as string | undefined, days: values.days as string | undefined }) },
  keysCommand('status', 'Master and data keys, and how many records use each', '[--json]'),
  keysCommand('rotate-master', 'Rewrap every data key under the first KEYHOLD_MASTER_KEYS entry'),
  keysCommand('rotate-tenant', 'New data key version; records re-encrypted by the server (or --now here)', `${tenantRef}|platform|--all [--now]`),
  keysCommand('retire', 'Retire data key versions no record uses any more', `[${tenantRef}|platform|--all]`),
];
