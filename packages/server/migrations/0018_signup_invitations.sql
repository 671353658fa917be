-- Invitations to create an organization, when sign-up is by invitation (KEYHOLD_SIGNUP=invite).
-- Platform-level: there is no tenant yet, so no RLS; the app role's grants guard the table. Only
-- the token's SHA-256 is stored. A token works once: `used_at` is set by the sign-up transaction.
CREATE TABLE signup_invitations (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash     text NOT NULL UNIQUE,
  -- When set, only this address may use the invitation.
  email          text CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  created_by     uuid REFERENCES platform_admins (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,
  used_by_tenant uuid REFERENCES tenants (id)
);
GRANT SELECT, INSERT, UPDATE ON signup_invitations TO keyhold_app;
