import { type KyselyPlugin, PostgresQueryCompiler } from 'kysely';
import type { TenantTx } from '../platform/db/tenancy.js';

/**
 * The same tenant transaction, recording the SQL of every statement run through it (the real
 * statements, sent to the real database): lets a test check what a repo's queries say.
 */
export function recordingSql(tx: TenantTx): { tx: TenantTx; statements: string[] } {
  const statements: string[] = [];
  const compiler = new PostgresQueryCompiler();
  const plugin: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      statements.push(compiler.compileQuery(node, queryId).sql);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  const recorded = tx.withPlugin(plugin);
  // Keeps the tenant scope marker, so the recorded transaction is still a TenantTx.
  for (const key of Object.getOwnPropertySymbols(tx)) Object.defineProperty(recorded, key, { value: (tx as unknown as Record<symbol, unknown>)[key] });
  return { tx: recorded as TenantTx, statements };
}

/** Statements on `tables` that do not name `tenant_id`. */
export const withoutTenant = (statements: string[], tables: string[]) =>
  statements.filter((s) => tables.some((t) => s.includes(`"${t}"`)) && !s.includes('"tenant_id"'));
