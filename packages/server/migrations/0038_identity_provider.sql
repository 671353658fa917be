-- Trusting the SaaS's own identity provider (KEYHOLD_IDP_*): a tenant may carry the IdP's id for
-- its organisation, and a user first seen in an IdP token is linked to it by (issuer, subject) —
-- never by email, so an account of another IdP or a local one with the same email is not taken over.

ALTER TABLE tenants ADD COLUMN idp_org_id text CHECK (idp_org_id IS NULL OR length(idp_org_id) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX tenants_idp_org_id_key ON tenants (idp_org_id) WHERE idp_org_id IS NOT NULL;

-- An IdP token names its organisation, not a Keyhold tenant: find the tenant id (only).
CREATE FUNCTION keyhold_tenant_id_by_idp_org(p_org text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants WHERE idp_org_id = p_org AND deleted_at IS NULL $$;
GRANT EXECUTE ON FUNCTION keyhold_tenant_id_by_idp_org(text) TO keyhold_app;

-- One IdP identity per user; the same IdP user in two organisations is two Keyhold users.
CREATE TABLE user_identities (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  issuer     text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
  subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, issuer, subject),
  CONSTRAINT user_identities_user_key UNIQUE (user_id)
);
SELECT keyhold_enable_tenant_rls('user_identities');
GRANT SELECT, INSERT, DELETE ON user_identities TO keyhold_app;
