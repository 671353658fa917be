-- Hosted Connect: short-lived, single-use sessions a SaaS opens for its own end users, who connect
-- one account on Keyhold's /connect page without a Keyhold account.

-- Only the SHA-256 of the session token is stored: a database reader cannot open the page.
CREATE TABLE connect_sessions (
  id                uuid PRIMARY KEY,
  tenant_id         uuid NOT NULL REFERENCES tenants (id),
  token_hash        text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  -- Catalog ids the page offers; NULL offers every provider of the catalog.
  allowed_providers text[] CHECK (allowed_providers IS NULL OR cardinality(allowed_providers) BETWEEN 1 AND 100),
  label             text NOT NULL CHECK (length(label) BETWEEN 1 AND 63),
  end_user_id       text CHECK (length(end_user_id) <= 200),
  end_user_email    text CHECK (length(end_user_email) <= 320),
  -- Exact `scheme://host[:port]` origins that may frame the page and receive its message.
  allowed_origins   text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_origins) <= 20),
  return_to         text CHECK (length(return_to) <= 2048),
  -- A reconnect session re-authorises this connection (same provider and label).
  reconnect_connection_id uuid,
  -- Who opened the session (an API key, a platform key): the page's writes act on its behalf.
  created_by        text NOT NULL CHECK (length(created_by) <= 100),
  expires_at        timestamptz NOT NULL,
  -- Single use: set, with the connection it produced, by the write that completes the session.
  used_at           timestamptz,
  connection_id     uuid,
  created_at        timestamptz NOT NULL,
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '30 minutes'),
  CHECK ((used_at IS NULL) = (connection_id IS NULL))
);
CREATE INDEX connect_sessions_expires ON connect_sessions (expires_at);
SELECT keyhold_enable_tenant_rls('connect_sessions');
GRANT SELECT, INSERT, UPDATE, DELETE ON connect_sessions TO keyhold_app;

-- The page arrives with the token alone: this returns the tenant that issued it (by hash), and
-- nothing else, so the page's requests then work inside that tenant's context.
CREATE FUNCTION keyhold_connect_session_tenant(p_token_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM connect_sessions WHERE token_hash = p_token_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_connect_session_tenant(text) TO keyhold_app;

-- An OAuth flow started from a Connect page has no Keyhold user: the session stands in for one.
ALTER TABLE oauth_states ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE oauth_states ADD COLUMN connect_session_id uuid;
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_user_or_session CHECK (user_id IS NOT NULL OR connect_session_id IS NOT NULL);

-- The new scope `connect`: opening Connect sessions (tenant and platform keys).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'records:read', 'connect']::text[] AND cardinality(scopes) > 0);

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'credentials:read:refresh', 'records:read', 'connect']::text[] AND cardinality(scopes) > 0);

-- Housekeeping: a session is worth nothing a day after it expired (the audit chain keeps its story).
CREATE OR REPLACE FUNCTION keyhold_purge_expired_oauth(p_now timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH s AS (DELETE FROM oauth_states WHERE expires_at < p_now RETURNING 1),
         p AS (DELETE FROM oauth_pending WHERE expires_at < p_now RETURNING 1),
         c AS (DELETE FROM connect_sessions WHERE expires_at < p_now - interval '1 day' RETURNING 1)
    SELECT ((SELECT count(*) FROM s) + (SELECT count(*) FROM p) + (SELECT count(*) FROM c))::integer
  $$;
