import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import type { Services } from '../../deps.js';
import { primaryField, secondaryField, splitInput } from '../../domains/connections/fields.js';
import type { Provider } from '../../domains/catalog/catalog.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import { AppError } from '../../platform/errors.js';
import type { CommandContext } from '../command.js';
import { CliError, operatorInTenant, resolveTenant, withServices } from '../operator.js';
import { type EnvImport, WELL_KNOWN_VARIABLES } from './well-known.js';

type Outcome = 'imported' | 'would_import' | 'skipped' | 'failed';
/** One line of the report: names only (variables, fields, providers), never a value. */
export type ImportLine = { provider: string; outcome: Outcome; variables: string[]; reason?: string; verified?: boolean };

/** The variables of one provider found in the file: catalog field → [variable, value]. */
function pick(entry: EnvImport, env: Record<string, string | undefined>): Map<string, [string, string]> {
  const found = new Map<string, [string, string]>();
  for (const [field, names] of Object.entries(entry.fields)) {
    const name = names.find((n) => env[n]?.trim());
    if (name) found.set(field, [name, env[name]!.trim()]);
  }
  return found;
}

/** A validation message speaks of the API's names (apiKey, additionalConfig.x); say the variable instead. */
function inVariableTerms(message: string, provider: Provider, found: Map<string, [string, string]>): string {
  const varOf = (field: string | undefined) => (field ? found.get(field)?.[0] ?? field : undefined);
  return message
    .replace(/^apiKey:/, `${varOf(primaryField(provider).name)}:`)
    .replace(/^apiSecret:/, `${varOf(secondaryField(provider)?.name) ?? 'apiSecret'}:`)
    .replace(/^additionalConfig\.([A-Za-z0-9_]+):/, (_, f: string) => `${varOf(f)}:`);
}

async function importOne(services: Services, principal: TenantPrincipal, entry: EnvImport, found: Map<string, [string, string]>, opts: { dryRun: boolean; verify: boolean }): Promise<ImportLine> {
  const provider = services.catalog.get(entry.provider);
  const variables = [...found.values()].map(([name]) => name);
  const line = (outcome: Outcome, reason?: string, verified?: boolean): ImportLine => ({ provider: provider.id, outcome, variables, ...(reason ? { reason } : {}), ...(verified === undefined ? {} : { verified }) });
  const primary = primaryField(provider);
  if (!found.has(primary.name)) {
    return line('skipped', `${entry.fields[primary.name]?.join(' or ') ?? primary.name} (${primary.label}) missing`);
  }
  const values = Object.fromEntries([...found].map(([field, [, value]]) => [field, value]));
  const { [primary.name]: apiKey, ...additionalConfig } = values;
  const input = { serviceName: provider.id, apiKey: apiKey!, additionalConfig };
  const existing = await services.connections.list(principal, { page: 1, limit: 500, serviceName: provider.id });
  if (existing.items.some((c) => c.label === 'default')) {
    return line('skipped', `already connected; rotate it in the console, or delete that connection and import again`);
  }
  try {
    if (opts.dryRun) {
      splitInput(provider, input); // the same validation create runs, without saving
      if (opts.verify) {
        const tested = await services.connections.testConnection(principal, input);
        if (!tested.result.ok) return line('failed', `${provider.displayName} refused these credentials${tested.result.status ? ` (HTTP ${tested.result.status})` : ''}`, false);
        return line('would_import', undefined, true);
      }
      return line('would_import');
    }
    const created = await services.connections.create(principal, input, { verify: opts.verify });
    return line('imported', undefined, created.verified);
  } catch (err) {
    if (err instanceof AppError) return line('failed', inVariableTerms(err.message, provider, found));
    throw err;
  }
}

/** Every well-known variable in `env`, and the platform-app variables found (reported, not imported). */
export async function importEnv(services: Services, principal: TenantPrincipal, env: Record<string, string | undefined>, opts: { dryRun: boolean; verify: boolean }) {
  const lines: ImportLine[] = [];
  for (const entry of WELL_KNOWN_VARIABLES) {
    const found = pick(entry, env);
    const appVars = (entry.appVariables ?? []).filter((n) => env[n]?.trim());
    if (found.size > 0) lines.push(await importOne(services, principal, entry, found, opts));
    if (appVars.length) {
      const id = entry.provider.toUpperCase().replaceAll('-', '_');
      lines.push({ provider: entry.provider, outcome: 'skipped', variables: appVars,
        reason: `the app's own credentials, not a tenant's: set KEYHOLD_OAUTH_${id}_CLIENT_ID / KEYHOLD_OAUTH_${id}_CLIENT_SECRET on the Keyhold server` });
    }
  }
  const known = new Set(WELL_KNOWN_VARIABLES.flatMap((e) => [...Object.values(e.fields).flat(), ...(e.appVariables ?? [])]));
  const ignored = Object.keys(env).filter((n) => !known.has(n)).sort();
  return { lines, ignored };
}

const VERB: Record<Outcome, string> = { imported: 'imported', would_import: 'would import', skipped: 'skipped', failed: 'NOT imported' };

/** `keyhold import-env --tenant T [--file .env] [--dry-run] [--verify] [--json]` */
export async function runImportEnv({ config, log, values }: CommandContext): Promise<number> {
  if (!values.tenant) throw new CliError('--tenant is required (the tenant id or slug the connections belong to)');
  const file = path.resolve(String(values.file ?? '.env'));
  let env: Record<string, string | undefined>;
  try {
    env = parseEnv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const opts = { dryRun: values['dry-run'] === true, verify: values.verify === true };
  return withServices(config, log, async (services) => {
    const tenantId = await resolveTenant(services, String(values.tenant));
    const { lines, ignored } = await importEnv(services, operatorInTenant(tenantId), env, opts);
    const failed = lines.some((l) => l.outcome === 'failed');
    // A verify test sends the credentials to the provider, so it is audited even in a dry run.
    const auditedTests = opts.dryRun ? lines.filter((l) => l.verified !== undefined).length : 0;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ file, tenantId, dryRun: opts.dryRun, ...(opts.dryRun ? { auditedTests } : {}), results: lines, ignoredVariables: ignored }, null, 2)}\n`);
      return failed ? 1 : 0;
    }
    const dryRun = !opts.dryRun ? '' : opts.verify ? 'Dry run: no connection saved; each --verify test with a provider is recorded in the audit log (api_credentials.test).\n' : 'Dry run: nothing saved. ';
    const out: string[] = [`${dryRun}Importing ${file} into tenant ${String(values.tenant)}`];
    for (const l of lines) {
      const verified = l.verified === undefined ? '' : l.verified ? ' (verified with the provider)' : opts.verify ? ' (the provider has no verify request)' : ' (not verified; --verify checks first)';
      out.push(`  ${VERB[l.outcome].padEnd(13)} ${l.provider.padEnd(14)} from ${l.variables.join(', ')}${l.reason ? `: ${l.reason}` : verified}`);
    }
    if (lines.length === 0) out.push('  no well-known provider variable found (see docs/migrating-from-single-tenant.md)');
    if (ignored.length) out.push(`  ${ignored.length} other variable(s) left alone: ${ignored.join(', ')}`);
    for (const id of new Set(lines.filter((l) => l.outcome === 'imported' && services.catalog.get(l.provider).oauth).map((l) => l.provider))) {
      if (!config.oauthApps[id]) out.push(`  note: ${id} tokens are refreshed with the OAuth app that issued them; set KEYHOLD_OAUTH_${id.toUpperCase().replaceAll('-', '_')}_CLIENT_ID/_CLIENT_SECRET on the server`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return failed ? 1 : 0;
  });
}
