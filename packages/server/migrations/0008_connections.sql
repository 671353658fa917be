-- A tenant's account at one provider. All credential fields live in one vault ciphertext
-- (`secrets`, purpose `connection.secrets`, bound to this row's id); non-secret config beside it.
CREATE TABLE connections (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  provider           text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  label              text NOT NULL DEFAULT 'default' CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$'),
  auth_mode          text NOT NULL,
  secrets            text NOT NULL CHECK (secrets LIKE 'kh1.%'),
  config             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
  -- Provider account id that routes inbound webhooks here (shop domain, realm id, page id…).
  routing_key        text,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth', 'degraded', 'disabled', 'error')),
  is_active          boolean NOT NULL DEFAULT true,
  -- Bumped on every change of the secrets, so clients cached per credential version refresh.
  credential_version integer NOT NULL DEFAULT 1,
  token_expires_at   timestamptz,
  last_used_at       timestamptz,
  last_verified_at   timestamptz,
  last_synced_at     timestamptz,
  created_by         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT connections_tenant_provider_label UNIQUE (tenant_id, provider, label)
);
-- One provider account belongs to one tenant: a second tenant cannot claim its webhooks.
CREATE UNIQUE INDEX connections_routing_key ON connections (provider, routing_key) WHERE routing_key IS NOT NULL;
CREATE INDEX connections_tenant_provider ON connections (tenant_id, provider);
SELECT keyhold_enable_tenant_rls('connections');
GRANT SELECT, INSERT, UPDATE, DELETE ON connections TO keyhold_app;
