-- Server-to-server API keys. Tenant keys act inside their tenant with a role and scopes; platform
-- keys (created by platform admins) act for the tenant named in X-Keyhold-Tenant. Only hashes
-- are stored; the key is shown once.

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  prefix       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read']),
  created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
SELECT keyhold_enable_tenant_rls('api_keys');
GRANT SELECT, INSERT, UPDATE ON api_keys TO keyhold_app;

CREATE FUNCTION keyhold_api_key_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM api_keys WHERE key_hash = p_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_api_key_tenant(text) TO keyhold_app;

-- Platform-level (no tenant): readable by the app role, which is the only way to use them.
CREATE TABLE platform_api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  prefix       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read']),
  created_by   uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
GRANT SELECT, INSERT, UPDATE ON platform_api_keys TO keyhold_app;
