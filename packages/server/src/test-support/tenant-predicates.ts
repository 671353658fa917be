import pg from 'pg';
import { loadModule, parseSync } from 'libpg-query';

/**
 * Every statement over a tenant-scoped table must name `tenant_id` itself, besides RLS: on Citus
 * (tenant_id as the distribution column) a policy on `current_setting` does not route a query to
 * one shard, an explicit `tenant_id` predicate does (docs/scale.md). This checks statements with
 * Postgres's own parser (libpg-query): each SELECT / UPDATE / DELETE that reads a tenant table
 * must constrain that table's `tenant_id` by a top-level `= value` (or IN / = ANY of values) in
 * its WHERE or a JOIN condition, or by a join on the tenant with a table that is (a predicate
 * inside a subquery constrains only the subquery, one under an OR nothing); each INSERT must list
 * `tenant_id`.
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

/** The tenant tables a statement reaches without constraining their `tenant_id`; `(not parsed)` for text the parser refuses. */
export function missingTenantPredicates(sql: string, tables: ReadonlySet<string>): string[] {
  let tree: { stmts?: Array<{ stmt: Node }> };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch {
    return ['(not parsed)'];
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
  const conjuncts: unknown[] = [];
  const usingTenant: Array<[string, string]> = [];
  if (kind === 'SelectStmt') collectFrom(node.fromClause, refs, conjuncts, usingTenant);
  else if (kind === 'UpdateStmt') {
    addRange(node.relation, refs);
    collectFrom(node.fromClause, refs, conjuncts, usingTenant);
  } else if (kind === 'DeleteStmt') {
    addRange(node.relation, refs);
    collectFrom(node.usingClause, refs, conjuncts, usingTenant);
  } else return [];
  const scoped = refs.filter((r) => tables.has(r.table));
  if (scoped.length === 0) return [];
  conjuncts.push(...andTerms(node.whereClause));
  // A table is constrained by a top-level `tenant_id = <value>` (or IN / = ANY of values), or by
  // `tenant_id = <a constrained table's tenant_id>` (a join on the tenant); anything under an OR,
  // a comparison with another column or a function result does not route to one shard.
  const constrained = new Set<string>();
  const equalities: Array<[string, string]> = [...usingTenant];
  const single = scoped.length === 1 ? scoped[0]!.alias : undefined;
  const tenantOf = (v: unknown): string | undefined => {
    const fields = columnFields(v);
    if (!fields || fields.at(-1) !== 'tenant_id') return undefined;
    return fields.length === 1 ? single ?? '*' : fields.at(-2);
  };
  const aliases = new Set(refs.map((r) => r.alias));
  for (const term of conjuncts) {
    // `tenant_id IS NULL`: the platform's own rows of a shared table (audit chain, data keys).
    const nullTest = (term as Node).NullTest as Node | undefined;
    if (nullTest?.nulltesttype === 'IS_NULL') {
      const t = tenantOf(nullTest.arg);
      if (t) constrained.add(t);
    }
    const e = (term as Node).A_Expr as Node | undefined;
    if (!e) continue;
    const op = ((e.name as Node[] | undefined) ?? []).map((n) => (n.String as { sval?: string } | undefined)?.sval).join('');
    const left = tenantOf(e.lexpr);
    const right = tenantOf(e.rexpr);
    if (e.kind === 'AEXPR_OP' && op === '=') {
      // A correlated subquery's join on the tenant with the outer query's table (checked as a statement of its own).
      if (left && right && !aliases.has(right)) constrained.add(left);
      else if (left && right && !aliases.has(left)) constrained.add(right);
      else if (left && right) equalities.push([left, right]);
      else if (left && isValue(e.rexpr)) constrained.add(left);
      else if (right && isValue(e.lexpr)) constrained.add(right);
    } else if ((e.kind === 'AEXPR_IN' && op === '=') || (e.kind === 'AEXPR_OP_ANY' && op === '=')) {
      if (left && (isValue(e.rexpr) || (Array.isArray(e.rexpr) && e.rexpr.every(isValue)))) constrained.add(left);
    }
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const [a, b] of equalities) {
      if (constrained.has(a) === constrained.has(b)) continue;
      constrained.add(a);
      constrained.add(b);
      grew = true;
    }
  }
  return scoped.filter((r) => !constrained.has(r.alias) && !constrained.has('*')).map((r) => r.table);
}

/** The terms of a top-level AND (a single term otherwise). */
function andTerms(v: unknown): unknown[] {
  if (!v) return [];
  const b = (v as Node).BoolExpr as Node | undefined;
  if (b?.boolop === 'AND_EXPR') return ((b.args as unknown[]) ?? []).flatMap(andTerms);
  return [v];
}

function columnFields(v: unknown): string[] | undefined {
  let x = v as Node | undefined;
  while (x?.TypeCast) x = (x.TypeCast as Node).arg as Node;
  const ref = x?.ColumnRef as Node | undefined;
  return ref ? ((ref.fields as Node[]) ?? []).map((f) => (f.String as { sval?: string } | undefined)?.sval ?? '*') : undefined;
}

/** A parameter or a constant (possibly cast): what Citus can route on. */
function isValue(v: unknown): boolean {
  let x = v as Node | undefined;
  while (x?.TypeCast) x = (x.TypeCast as Node).arg as Node;
  if (x?.List) return (((x.List as Node).items as unknown[]) ?? []).every(isValue);
  return Boolean(x?.ParamRef || x?.A_Const);
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

function collectFrom(items: unknown, refs: Ref[], conjuncts: unknown[], usingTenant: Array<[string, string]>) {
  for (const item of (items as Node[] | undefined) ?? []) {
    if (item.RangeVar) addRange(item.RangeVar, refs);
    else if (item.JoinExpr) {
      const j = item.JoinExpr as Node;
      const before = refs.length;
      collectFrom([j.larg], refs, conjuncts, usingTenant);
      const leftRefs = refs.slice(before);
      const mid = refs.length;
      collectFrom([j.rarg], refs, conjuncts, usingTenant);
      const rightRefs = refs.slice(mid);
      conjuncts.push(...andTerms(j.quals));
      const using = ((j.usingClause as Node[] | undefined) ?? []).map((u) => (u.String as { sval?: string } | undefined)?.sval);
      if (using.includes('tenant_id')) for (const l of leftRefs) for (const r of rightRefs) usingTenant.push([l.alias, r.alias]);
    }
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
