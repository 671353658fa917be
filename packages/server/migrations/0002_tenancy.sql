-- The tenant of the current transaction, set by withTenant(); NULL when none is set, so a query
-- that forgot its tenant matches no row instead of failing or matching every row.
CREATE FUNCTION keyhold_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION keyhold_current_tenant() TO keyhold_app;

-- The standard isolation of a tenant-scoped table: RLS enabled and forced, rows visible and
-- writable only inside their tenant's context; the owner role (migrations, SECURITY DEFINER
-- functions) sees all rows. Every tenant-scoped table calls this from its migration.
CREATE FUNCTION keyhold_enable_tenant_rls(tbl regclass, tenant_column text DEFAULT 'tenant_id') RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (%I = keyhold_current_tenant()) WITH CHECK (%I = keyhold_current_tenant())',
                 tbl, tenant_column, tenant_column);
  EXECUTE format('CREATE POLICY owner_maintenance ON %s TO keyhold_owner USING (true) WITH CHECK (true)', tbl);
END $$;

CREATE TABLE tenants (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  plan            text NOT NULL DEFAULT 'starter'
                  CHECK (plan IN ('starter', 'professional', 'performance', 'enterprise')),
  status          text NOT NULL DEFAULT 'trial'
                  CHECK (status IN ('active', 'trial', 'suspended', 'cancelled', 'trial_expired')),
  trial_ends_at   timestamptz,
  max_users       integer NOT NULL DEFAULT 5 CHECK (max_users > 0),
  max_connections integer NOT NULL DEFAULT 10 CHECK (max_connections > 0),
  features        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(features) = 'object'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);
-- A tenant's own row is its tenant scope.
SELECT keyhold_enable_tenant_rls('tenants', 'id');
-- Tenants are soft-deleted (deleted_at); the app role never deletes rows.
GRANT SELECT, INSERT, UPDATE ON tenants TO keyhold_app;

-- Cross-tenant lookups return ids only; the work itself then runs inside that tenant's context.
CREATE FUNCTION keyhold_tenant_id_by_slug(p_slug text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants WHERE slug = lower(p_slug) AND deleted_at IS NULL $$;

CREATE FUNCTION keyhold_tenant_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants WHERE deleted_at IS NULL ORDER BY created_at, id $$;

GRANT EXECUTE ON FUNCTION keyhold_tenant_id_by_slug(text), keyhold_tenant_ids() TO keyhold_app;
