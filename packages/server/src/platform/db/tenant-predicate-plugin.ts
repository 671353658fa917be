import {
  AliasNode, BinaryOperationNode, ColumnNode, IdentifierNode, JoinNode, type KyselyPlugin, type OperationNode,
  OperationNodeTransformer, OperatorNode, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult,
  ReferenceNode, type RootOperationNode, type SelectQueryNode, TableNode, type UnknownRow, type UpdateQueryNode,
  type DeleteQueryNode, ValueNode, WhereNode,
} from 'kysely';

/**
 * Every table with forced row-level security and a `tenant_id` column. A test compares this list
 * with the database (a table added without being listed here fails it).
 */
export const TENANT_TABLES: ReadonlySet<string> = new Set([
  'api_keys', 'audit_chain_heads', 'audit_logs', 'commerce_low_stock_alerts', 'commerce_settings', 'commerce_stock_watches',
  'connect_sessions', 'connection_events', 'connections', 'event_queue', 'events', 'exchange_rate_runs', 'exchange_rate_settings', 'exchange_rates',
  'inbound_events', 'mfa_recovery_codes', 'notification_log', 'notification_settings', 'oauth_pending', 'oauth_states',
  'password_reset_tokens', 'rate_buckets', 'rate_slots', 'record_feed_positions', 'records', 'refresh_tokens', 'sessions',
  'sync_runs', 'sync_schedules', 'tenant_keys', 'users', 'webhook_deliveries', 'webhook_delivery_attempts',
  'user_identities', 'webhook_endpoints', 'working_capital_metrics',
]);

/**
 * Inside a tenant's transaction, every SELECT, UPDATE and DELETE Keyhold builds over a tenant
 * table also says `<table>.tenant_id = <the tenant>`, besides RLS. RLS alone already hides other
 * tenants' rows, so the results are the same; the explicit predicate is what lets Citus (tenant_id
 * as the distribution column) send the statement to one shard, which a policy on a setting cannot
 * (docs/scale.md). Tables in FROM get it in WHERE, joined tables in their ON (so an outer join
 * stays one). Raw `sql` statements are not rewritten: they name tenant_id themselves, and the
 * suite checks every statement Keyhold sends (test-support/tenant-predicates.ts).
 */
export class TenantPredicatePlugin implements KyselyPlugin {
  readonly #transformer: TenantPredicates;
  constructor(tenantId: string) {
    this.#transformer = new TenantPredicates(tenantId);
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class TenantPredicates extends OperationNodeTransformer {
  constructor(private readonly tenantId: string) {
    super();
  }

  protected override transformSelectQuery(node: SelectQueryNode): SelectQueryNode {
    const q = super.transformSelectQuery(node);
    return this.#constrain(q, q.from?.froms ?? []);
  }

  protected override transformUpdateQuery(node: UpdateQueryNode): UpdateQueryNode {
    const q = super.transformUpdateQuery(node);
    return this.#constrain(q, [...(q.table ? [q.table] : []), ...(q.from?.froms ?? [])]);
  }

  protected override transformDeleteQuery(node: DeleteQueryNode): DeleteQueryNode {
    const q = super.transformDeleteQuery(node);
    return this.#constrain(q, [...q.from.froms, ...(q.using?.tables ?? [])]);
  }

  /** The FROM tables' predicates go to WHERE, a joined table's to its ON (an outer join stays one; a join without ON: WHERE). */
  #constrain<Q extends { where?: WhereNode; joins?: ReadonlyArray<JoinNode> }>(q: Q, tables: ReadonlyArray<OperationNode>): Q {
    const conds: OperationNode[] = [];
    for (const t of tables) {
      const cond = this.#predicate(t);
      if (cond) conds.push(cond);
    }
    const joins = q.joins?.map((j) => {
      const cond = this.#predicate(j.table);
      if (!cond) return j;
      if (j.on) return JoinNode.cloneWithOn(j, cond);
      conds.push(cond);
      return j;
    });
    let where = q.where;
    for (const c of conds) where = where ? WhereNode.cloneWithOperation(where, 'And', c) : WhereNode.create(c);
    return { ...q, ...(where ? { where } : {}), ...(joins ? { joins } : {}) };
  }

  /** `"<alias or table>"."tenant_id" = $n` for a tenant table reference; undefined for anything else. */
  #predicate(ref: OperationNode): OperationNode | undefined {
    let table: TableNode | undefined;
    let name: string | undefined;
    if (TableNode.is(ref)) {
      table = ref;
      name = ref.table.identifier.name;
    } else if (AliasNode.is(ref) && TableNode.is(ref.node) && IdentifierNode.is(ref.alias)) {
      table = ref.node;
      name = ref.alias.name;
    }
    if (!table || !name || table.table.schema || !TENANT_TABLES.has(table.table.identifier.name)) return undefined;
    return BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create('tenant_id'), TableNode.create(name)),
      OperatorNode.create('='),
      ValueNode.create(this.tenantId),
    );
  }
}
