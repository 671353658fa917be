import pg from 'pg';
import type { Catalog } from '../../domains/catalog/catalog.js';
import { APP_ROLE, type Config, JOBS_ROLE, webhookAppSecrets } from '../../platform/config.js';
import { readMigrations } from '../../platform/db/migrate.js';
import { JOBS_SCHEMA } from '../../platform/db/job-schema.js';
import { adapterFor } from '../../providers/registry.js';
import { type CheckResult, fail, pass, someOf, warn } from './check.js';

/** The oldest Postgres Keyhold is tested on; older ones may lack what migrations use. */
const MIN_SERVER_VERSION = 15;

export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'keyhold-doctor', connectionTimeoutMillis: 5_000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function versionCheck(admin: pg.Client): Promise<CheckResult> {
  const { rows } = await admin.query<{ v: string; n: string }>(`select current_setting('server_version') as v, current_setting('server_version_num') as n`);
  const major = Math.floor(Number(rows[0]!.n) / 10_000);
  if (major < MIN_SERVER_VERSION) {
    return fail('db.version', 'Postgres version', `Postgres ${rows[0]!.v}: older than ${MIN_SERVER_VERSION}`, `Upgrade Postgres to ${MIN_SERVER_VERSION} or newer`);
  }
  return pass('db.version', 'Postgres version', `reachable, Postgres ${rows[0]!.v}`);
}

export async function migrationsCheck(admin: pg.Client): Promise<CheckResult> {
  const title = 'Migrations';
  const known = (await readMigrations()).map((m) => m.name);
  const exists = await admin.query(`select to_regclass('keyhold_migrations') is not null as ok`);
  if (!exists.rows[0].ok) return fail('db.migrations', title, 'no migration has been applied (empty database)', "Run 'keyhold migrate' (or start the server once)");
  const applied = new Set((await admin.query<{ name: string }>('select name from keyhold_migrations')).rows.map((r) => r.name));
  const pending = known.filter((n) => !applied.has(n));
  const unknown = [...applied].filter((n) => !known.includes(n));
  if (pending.length) return fail('db.migrations', title, `${pending.length} pending: ${someOf(pending)}`, "Run 'keyhold migrate' (start also applies them)");
  if (unknown.length) return warn('db.migrations', title, `the database has ${unknown.length} migration(s) this build does not know (${someOf(unknown)})`, 'Run the Keyhold version that applied them (this build is older than the database)');
  return pass('db.migrations', title, `all ${known.length} applied`);
}

/**
 * Every table with a `tenant_id` (and `tenants` itself) has row-level security enabled and forced
 * and at least one policy: otherwise a query that forgets its tenant could see every tenant.
 */
export async function rlsCheck(admin: pg.Client): Promise<CheckResult> {
  const title = 'Row-level security on tenant tables';
  const { rows } = await admin.query<{ name: string; enabled: boolean; forced: boolean; policies: number }>(`
    select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
      (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
      and (c.relname = 'tenants' or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
    order by c.relname`);
  if (rows.length === 0) return fail('db.rls', title, 'no tenant table found', "Run 'keyhold migrate' (or start the server once)");
  const disabled = rows.filter((r) => !r.enabled).map((r) => r.name);
  const unforced = rows.filter((r) => r.enabled && !r.forced).map((r) => r.name);
  const noPolicy = rows.filter((r) => r.enabled && r.policies === 0).map((r) => r.name);
  const problems = [
    disabled.length && `RLS disabled on ${someOf(disabled)}`,
    unforced.length && `not forced on ${someOf(unforced)}`,
    noPolicy.length && `no policy on ${someOf(noPolicy)}`,
  ].filter(Boolean);
  if (problems.length) {
    const t = disabled[0] ?? unforced[0] ?? noPolicy[0];
    return fail('db.rls', title, problems.join('; '),
      `As the migrator: 'alter table ${t} enable row level security; alter table ${t} force row level security;' (each table named), and restore its tenant policy from packages/server/migrations`);
  }
  return pass('db.rls', title, `${rows.length} tables: enabled, forced, with a policy`);
}

/**
 * The app role (what requests run as) is no superuser, lacks BYPASSRLS, owns nothing (itself or
 * through a role it belongs to: an owner may drop RLS) and may create nothing (an object it
 * creates, it owns).
 */
export async function appRoleCheck(app: pg.Client, adminUser: string): Promise<CheckResult> {
  const title = 'App role privileges';
  const { rows } = await app.query<{ role: string; superuser: boolean; bypass: boolean; create_db: boolean; create_public: boolean }>(`
    select rolname as role, rolsuper as superuser, rolbypassrls as bypass,
      has_database_privilege(current_user, current_database(), 'CREATE') as create_db,
      coalesce(to_regnamespace('public') is not null and has_schema_privilege(current_user, 'public', 'CREATE'), false) as create_public
    from pg_roles where rolname = current_user`);
  const r = rows[0]!;
  // 'MEMBER' rather than 'USAGE': a member without INHERIT can still SET ROLE to the owner.
  const owned = (await app.query<{ owner: string; name: string }>(`
    with objects as (
      select c.relowner as owner, format('%s %s', case c.relkind when 'S' then 'sequence' when 'v' then 'view' else 'table' end, c.relname) as name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname not in ('pg_catalog', 'information_schema') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      union all select nspowner, format('schema %s', nspname) from pg_namespace
        where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg\\_%'
      union all select p.proowner, format('function %s', p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not in ('pg_catalog', 'information_schema'))
    select r.rolname as owner, o.name from objects o join pg_roles r on r.oid = o.owner
      where pg_has_role(current_user, o.owner, 'MEMBER')
    order by 1, 2`)).rows;
  const own = owned.filter((o) => o.owner === r.role).map((o) => o.name);
  const byOwner = new Map<string, string[]>();
  for (const o of owned.filter((x) => x.owner !== r.role)) byOwner.set(o.owner, [...(byOwner.get(o.owner) ?? []), o.name]);
  const problems = [
    r.role === adminUser && `requests would run as the migrator ${r.role}`,
    r.superuser && `${r.role} is a superuser`,
    r.bypass && `${r.role} has BYPASSRLS`,
    own.length > 0 && `${r.role} owns ${someOf(own)}`,
    ...[...byOwner].map(([owner, names]) => `${r.role} is a member of ${owner}, which owns ${someOf(names)}`),
    r.create_db && `${r.role} may create objects in the database`,
    r.create_public && `${r.role} may create objects in schema public`,
  ].filter(Boolean);
  if (problems.length) {
    const fixes = [
      `'alter role ${r.role} nosuperuser nobypassrls;'`,
      ...[...byOwner.keys()].map((owner) => `'revoke ${owner} from ${r.role};'`),
      r.create_db && `'revoke create on database <name> from ${r.role}, public;'`,
      r.create_public && `'revoke create on schema public from ${r.role}, public;'`,
    ].filter(Boolean);
    return fail('db.app_role', title, problems.join('; '),
      `Requests must run as a role RLS binds: ${fixes.join(' ')} and give what it owns back (e.g. 'alter table <name> owner to keyhold_owner;'). See docs/security-model.md`);
  }
  const expected = r.role === APP_ROLE ? '' : ` (named ${r.role}, not ${APP_ROLE})`;
  return pass('db.app_role', title, `${r.role}${expected}: not superuser, no BYPASSRLS, owns nothing`);
}

export async function jobSchemaCheck(admin: pg.Client): Promise<CheckResult> {
  const title = 'Job queue schema (pg-boss)';
  const { rows } = await admin.query<{ owner: string | null; version: boolean }>(`
    select (select r.rolname from pg_namespace n join pg_roles r on r.oid = n.nspowner where n.nspname = $1) as owner,
      to_regclass($1 || '.version') is not null as version`, [JOBS_SCHEMA]);
  const { owner, version } = rows[0]!;
  if (!owner || !version) return fail('db.jobs', title, `schema ${JOBS_SCHEMA} ${owner ? 'is incomplete' : 'is missing'}`, "Run 'keyhold migrate' (it creates the job schema)");
  if (owner !== JOBS_ROLE) return warn('db.jobs', title, `schema ${JOBS_SCHEMA} is owned by ${owner}, not ${JOBS_ROLE}`, "Run 'keyhold migrate' (it hands the schema to the jobs role)");
  return pass('db.jobs', title, `schema ${JOBS_SCHEMA} present, owned by ${JOBS_ROLE}`);
}

/** Token expiry, TOTP steps and schedules compare this node's clock with Postgres's. */
export async function clockCheck(admin: pg.Client): Promise<CheckResult> {
  const title = 'Clock skew (this node vs Postgres)';
  const before = Date.now();
  const { rows } = await admin.query<{ ms: string }>(`select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as ms`);
  const after = Date.now();
  const skew = Number(rows[0]!.ms) - (before + after) / 2;
  const shown = `${(skew / 1000).toFixed(2)} s (round trip ${after - before} ms)`;
  const fix = 'Run NTP (chrony, systemd-timesyncd) on every Keyhold node and on the database host';
  if (Math.abs(skew) > 30_000) return fail('db.clock', title, `off by ${shown}`, fix);
  if (Math.abs(skew) > 2_000) return warn('db.clock', title, `off by ${shown}`, fix);
  return pass('db.clock', title, `within ${shown}`);
}

/**
 * A transaction-mode pooler (PgBouncer pool_mode=transaction) hands consecutive statements of one
 * client to different server connections; Keyhold's session advisory locks and LISTEN need one.
 */
export async function poolerCheck(app: pg.Client): Promise<CheckResult> {
  const title = 'Connection pooler mode';
  const pids = new Set<number>();
  for (let i = 0; i < 6; i++) pids.add((await app.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
  if (pids.size > 1) {
    return fail('db.pooler', title, 'statements of one connection reached different server processes: a transaction-mode pooler (unsupported)',
      'Connect Keyhold directly to Postgres or through a session-mode pooler (PgBouncer pool_mode=session)');
  }
  return pass('db.pooler', title, 'one server process per connection (direct or session-mode pooling)');
}

/** App-level webhooks (one URL per provider) are refused without the operator's signing secret. */
export async function webhookSecretsCheck(app: pg.Client, config: Config, catalog: Catalog): Promise<CheckResult> {
  const title = 'Webhook secrets for connected providers';
  const providers = [...(await connectedProviders(app))].sort();
  const missing = providers.filter((id) => {
    const hooks = adapterFor({ id }).webhooks;
    return catalog.list().some((p) => p.id === id && p.webhooks) && hooks?.level === 'app' && webhookAppSecrets(config, id, hooks.signedWithClientSecret === true).length === 0;
  });
  if (missing.length) {
    return warn('config.webhook_secrets', title, `no signing secret for ${someOf(missing)}: their webhooks are refused`,
      missing.map((id) => `KEYHOLD_WEBHOOK_${id.toUpperCase().replaceAll('-', '_')}_SECRETS`).join(', ') + ' (the secret from the provider app\'s webhook settings)');
  }
  return pass('config.webhook_secrets', title, providers.length ? `configured for every connected provider that signs with an app secret (${providers.length} provider(s) connected)` : 'no connections yet');
}

/** Providers with a connection in any tenant, read as the app role one tenant at a time (as the server reads). */
async function connectedProviders(app: pg.Client): Promise<Set<string>> {
  const found = new Set<string>();
  const tenants = (await app.query<{ id: string }>('select keyhold_tenant_ids() as id')).rows;
  for (const { id } of tenants) {
    await app.query('begin read only');
    try {
      await app.query(`select set_config('app.tenant_id', $1, true)`, [id]);
      for (const r of (await app.query<{ provider: string }>('select distinct provider from connections')).rows) found.add(r.provider);
    } finally {
      await app.query('rollback');
    }
  }
  return found;
}
