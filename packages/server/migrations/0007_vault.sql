-- Envelope encryption: one random 256-bit data key (DEK) per tenant and version, stored wrapped by
-- a master key (KEK). Platform-level secrets (platform admins' TOTP) use the platform scope
-- (tenant_id NULL), visible only through withPlatform().
CREATE TABLE tenant_keys (
  tenant_id   uuid REFERENCES tenants (id),
  version     integer NOT NULL CHECK (version > 0),
  wrapped_dek text NOT NULL,
  kek_id      text NOT NULL,
  state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz,
  CONSTRAINT tenant_keys_version UNIQUE NULLS NOT DISTINCT (tenant_id, version)
);
SELECT keyhold_enable_tenant_rls('tenant_keys');
CREATE POLICY platform_scope ON tenant_keys
  USING (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on')
  WITH CHECK (tenant_id IS NULL AND current_setting('app.platform_scope', true) = 'on');
GRANT SELECT, INSERT, UPDATE ON tenant_keys TO keyhold_app;

-- Rotation works across tenants by id: which scopes hold keys (ids only; NULL = platform).
CREATE FUNCTION keyhold_key_scopes() RETURNS TABLE (tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT DISTINCT tenant_id FROM tenant_keys ORDER BY 1 NULLS FIRST $$;
-- Tenants whose users still hold a TOTP secret stored before the vault (ids only).
CREATE FUNCTION keyhold_tenants_with_plain_totp() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT DISTINCT tenant_id FROM users
        WHERE (mfa_secret IS NOT NULL AND mfa_secret NOT LIKE 'kh1.%')
           OR (mfa_pending_secret IS NOT NULL AND mfa_pending_secret NOT LIKE 'kh1.%') $$;
GRANT EXECUTE ON FUNCTION keyhold_key_scopes(), keyhold_tenants_with_plain_totp() TO keyhold_app;
