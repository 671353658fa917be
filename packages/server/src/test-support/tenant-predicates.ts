import pg from 'pg';
import { loadModule, parseSync } from 'libpg-query';

/**
 * Every statement over a tenant-scoped table must name `tenant_id` itself, besides RLS: on Citus
 * (tenant_id as the distribution column) a policy on `current_setting` does not route a query to
 * one shard, an explicit `tenant_id` predicate does (docs/scale.md). This checks statements with
 * Postgres's own parser (libpg-query): each SELECT / UPDATE / DELETE that reads a tenant table
 * must constrain that table's `tenant_id` in its WHERE or a JOIN condition (a predicate inside a
 * subquery constrains only the subquery), each INSERT must list `tenant_id`.
 */

type Node = Record<string, unknown>;
type Ref = { table: string; alias: string };

/** Tables with a `tenant_id` column and forced row-level security: the tenant-scoped ones. */
export async function tenantTables(adminUrl: string): Promise<Set<string>> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relforcerowsecurity
          and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)`,
    );
    return new Set(rows.map((r) => r.relname));
  } finally {
    await c.end();
  }
}

export const loadParser = () => loadModule();

/** The tenant tables a statement reads or writes without naming their `tenant_id`; [] when it is fine or not SQL the parser knows. */
export function missingTenantPredicates(sql: string, tables: ReadonlySet<string>): string[] {
  let tree: { stmts?: Array<{ stmt: Node }> };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch {
    return [];
  }
  const missing = new Set<string>();
  walk(tree.stmts ?? [], (kind, node) => {
    for (const t of check(kind, node, tables)) missing.add(t);
  });
  return [...missing].sort();
}

function check(kind: string, node: Node, tables: ReadonlySet<string>): string[] {
  if (kind === 'InsertStmt') {
    const table = relname(node.relation);
    if (!table || !tables.has(table)) return [];
    const cols = ((node.cols as Node[] | undefined) ?? []).map((c) => (c.ResTarget as Node | undefined)?.name);
    return cols.includes('tenant_id') ? [] : [table];
  }
  const refs: Ref[] = [];
  const quals: unknown[] = [];
  const usingTenant = { all: false };
  if (kind === 'SelectStmt') collectFrom(node.fromClause, refs, quals, usingTenant);
  else if (kind === 'UpdateStmt') {
    addRange(node.relation, refs);
    collectFrom(node.fromClause, refs, quals, usingTenant);
  } else if (kind === 'DeleteStmt') {
    addRange(node.relation, refs);
    collectFrom(node.usingClause, refs, quals, usingTenant);
  } else return [];
  const scoped = refs.filter((r) => tables.has(r.table));
  if (scoped.length === 0 || usingTenant.all) return [];
  const named = new Set<string>();
  let bare = false;
  for (const q of [node.whereClause, ...quals]) {
    columnRefs(q, (fields) => {
      if (fields.at(-1) !== 'tenant_id') return;
      if (fields.length === 1) bare = true;
      else named.add(fields.at(-2)!);
    });
  }
  return scoped.filter((r) => !bare && !named.has(r.alias) && !named.has(r.table)).map((r) => r.table);
}

function relname(v: unknown): string | undefined {
  const rv = v as { relname?: string; schemaname?: string } | undefined;
  if (!rv?.relname || (rv.schemaname && rv.schemaname !== 'public')) return undefined;
  return rv.relname;
}

function addRange(v: unknown, refs: Ref[]) {
  const table = relname(v);
  if (table) refs.push({ table, alias: ((v as Node).alias as { aliasname?: string } | undefined)?.aliasname ?? table });
}

function collectFrom(items: unknown, refs: Ref[], quals: unknown[], usingTenant: { all: boolean }) {
  for (const item of (items as Node[] | undefined) ?? []) {
    if (item.RangeVar) addRange(item.RangeVar, refs);
    else if (item.JoinExpr) {
      const j = item.JoinExpr as Node;
      collectFrom([j.larg, j.rarg], refs, quals, usingTenant);
      if (j.quals) quals.push(j.quals);
      const using = ((j.usingClause as Node[] | undefined) ?? []).map((u) => (u.String as { sval?: string } | undefined)?.sval);
      if (using.includes('tenant_id')) usingTenant.all = true;
    }
  }
}

/** Column references of an expression, not descending into subqueries (their predicates are theirs). */
function columnRefs(v: unknown, found: (fields: string[]) => void) {
  if (Array.isArray(v)) return v.forEach((x) => columnRefs(x, found));
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v as Node)) {
    if (k === 'SubLink' || k === 'SelectStmt') continue;
    if (k === 'ColumnRef') {
      found((((x as Node).fields as Node[]) ?? []).map((f) => (f.String as { sval?: string } | undefined)?.sval ?? '*'));
      continue;
    }
    columnRefs(x, found);
  }
}

/** Every statement node of a parse tree, subqueries and CTEs included. */
function walk(v: unknown, visit: (kind: string, node: Node) => void) {
  if (Array.isArray(v)) return v.forEach((x) => walk(x, visit));
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v as Node)) {
    if ((k === 'SelectStmt' || k === 'InsertStmt' || k === 'UpdateStmt' || k === 'DeleteStmt') && x && typeof x === 'object') visit(k, x as Node);
    walk(x, visit);
  }
}
