import { AppError } from '../platform/errors.js';
import type { Tenant } from '../domains/tenants/tenants.service.js';
import type { TenantStatus } from '../platform/db/schema.js';
import type { CommandContext } from './command.js';
import { CliError, operatorCtx, resolveTenant, withServices } from './operator.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

function printTenant(t: Tenant, json: boolean) {
  if (json) out(JSON.stringify(t, null, 2));
  else out(`${t.slug}  ${t.status}  ${t.plan}  ${t.name}  (id ${t.id})`);
}

/** `keyhold tenants list [--status S] [--plan P] [--search Q] [--limit N] [--json]` */
export async function runTenantsList({ config, log, values }: CommandContext): Promise<number> {
  const limit = values.limit === undefined ? 500 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliError('--limit: a whole number from 1 to 500');
  return withServices(config, log, async (services) => {
    const { items, pagination } = await services.tenants.search({
      page: 1, limit,
      ...(values.status ? { status: String(values.status) } : {}),
      ...(values.plan ? { plan: String(values.plan) } : {}),
      ...(values.search ? { search: String(values.search) } : {}),
    });
    if (values.json) {
      out(JSON.stringify({ items, total: pagination.total }, null, 2));
      return 0;
    }
    if (items.length === 0) out('No tenants.');
    else {
      out(`${'slug'.padEnd(28)}${'status'.padEnd(15)}${'plan'.padEnd(14)}${'created'.padEnd(12)}name`);
      for (const t of items) out(`${t.slug.padEnd(28)}${t.status.padEnd(15)}${t.plan.padEnd(14)}${t.createdAt.slice(0, 10).padEnd(12)}${t.name}`);
    }
    if (pagination.total > items.length) out(`(${items.length} of ${pagination.total}; narrow with --search or --status)`);
    return 0;
  });
}

/** `keyhold tenants create --slug S --name N [--plan P] [--active]` */
export async function runTenantsCreate({ config, log, values }: CommandContext): Promise<number> {
  if (!values.slug || !values.name) throw new CliError('--slug and --name are required');
  return withServices(config, log, async (services) => {
    const tenant = await services.tenants.create(operatorCtx(), {
      slug: String(values.slug), name: String(values.name),
      ...(values.plan ? { plan: String(values.plan) as never } : {}),
      ...(values.active ? { status: 'active' as const } : {}),
    });
    if (!values.json) out(`Created tenant '${tenant.slug}' (${tenant.status}${tenant.trialEndsAt ? ` until ${tenant.trialEndsAt.slice(0, 10)}` : ''}), id ${tenant.id}`);
    else printTenant(tenant, true);
    return 0;
  });
}

const VERBS: Record<'suspend' | 'reactivate' | 'delete', { status: TenantStatus; done: string }> = {
  suspend: { status: 'suspended', done: 'Suspended' },
  reactivate: { status: 'active', done: 'Reactivated' },
  delete: { status: 'cancelled', done: 'Deleted' },
};

/** `keyhold tenants suspend|reactivate|delete <tenant> [--reason R]` (delete also needs --yes). */
export function runTenantsStatus(verb: keyof typeof VERBS) {
  return async ({ config, log, values, positionals }: CommandContext): Promise<number> => {
    const ref = positionals[0];
    if (!ref) throw new CliError('name the tenant (id or slug)');
    if (verb === 'delete' && !values.yes) throw new CliError(`deleting a tenant locks out its users and keys at once; re-run with --yes to confirm`);
    return withServices(config, log, async (services) => {
      const id = await resolveTenant(services, ref);
      // A deleted tenant is gone for good: neither its slug nor its id finds it any more.
      const before = await services.tenants.get(id).catch((err: unknown) => {
        throw err instanceof AppError && err.code === 'NOT_FOUND' ? new CliError(`No tenant '${ref}'`) : err;
      });
      if (before.status === VERBS[verb].status) {
        out(`Tenant '${before.slug}' is already ${before.status}; nothing changed.`);
        return 0;
      }
      const after = await services.tenants.setStatus(operatorCtx(), id, VERBS[verb].status, values.reason ? String(values.reason) : undefined);
      out(`${VERBS[verb].done} tenant '${after.slug}' (${before.status} → ${after.status}).`);
      return 0;
    });
  };
}
