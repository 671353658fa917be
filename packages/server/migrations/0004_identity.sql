-- Tenant users, their sessions (one per sign-in) and rotating refresh tokens, MFA recovery codes.

CREATE TABLE users (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id            uuid NOT NULL REFERENCES tenants (id),
  email                text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash        text,
  role                 text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  is_active            boolean NOT NULL DEFAULT true,
  must_change_password boolean NOT NULL DEFAULT false,
  invite_token_hash    text UNIQUE,
  invite_expires_at    timestamptz,
  -- TOTP: the secret being enrolled, the active secret, and the last accepted time step (replay guard).
  mfa_pending_secret   text,
  mfa_secret           text,
  mfa_last_step        bigint,
  last_login_at        timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_per_tenant UNIQUE (tenant_id, email)
);
SELECT keyhold_enable_tenant_rls('users');
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO keyhold_app;

CREATE TABLE mfa_recovery_codes (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);
SELECT keyhold_enable_tenant_rls('mfa_recovery_codes');
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_recovery_codes TO keyhold_app;

-- A session is one sign-in: the family of every refresh token rotated from it.
CREATE TABLE sessions (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  ip             text,
  user_agent     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('logout', 'revoked_by_user', 'refresh_token_reuse', 'user_disabled', 'password_changed'))
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;
SELECT keyhold_enable_tenant_rls('sessions');
GRANT SELECT, INSERT, UPDATE ON sessions TO keyhold_app;

CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  -- Set when the token is exchanged; presenting it again is reuse and ends the session.
  rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
SELECT keyhold_enable_tenant_rls('refresh_tokens');
GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO keyhold_app;

-- A refresh token arrives without its tenant: find the tenant id (only) by the token's hash.
CREATE FUNCTION keyhold_refresh_token_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM refresh_tokens WHERE token_hash = p_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_refresh_token_tenant(text) TO keyhold_app;

-- Failed sign-in and MFA attempts per hashed key (tenant+email, IP, user), shared by every node.
-- Platform-level: keys are SHA-256 hashes, so the table holds no email or address in clear.
CREATE TABLE auth_attempts (
  key_hash          text PRIMARY KEY,
  window_started_at timestamptz NOT NULL,
  failures          integer NOT NULL CHECK (failures >= 0)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON auth_attempts TO keyhold_app;

-- An invitation arrives without its tenant: find the tenant id (only) by the token's hash.
CREATE FUNCTION keyhold_invite_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM users WHERE invite_token_hash = p_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_invite_tenant(text) TO keyhold_app;
