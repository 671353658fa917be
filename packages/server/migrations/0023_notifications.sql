-- Notifications to people (email, chat) and password reset.

-- Every message Keyhold sends to a tenant's people, one row per (message, recipient). Written
-- PENDING in the transaction of what caused it (an outbox event, a reset request); a worker sends
-- it outside any transaction. `secret_vars` holds the only secret a message may carry (a reset or
-- invitation link's token), encrypted by the vault under the tenant's key; it is cleared once the
-- message is sent or has failed for good.
CREATE TABLE notification_log (
  id                  uuid PRIMARY KEY,
  tenant_id           uuid NOT NULL REFERENCES tenants (id),
  channel             text NOT NULL CHECK (channel IN ('email', 'chat')),
  template            text NOT NULL CHECK (template ~ '^[a-z][a-z0-9_]{1,40}$'),
  -- An email address, or a chat channel id/name.
  recipient           text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 254),
  -- Which sender: null = the platform's; otherwise the tenant's own connection (provider id).
  sender_provider     text CHECK (sender_provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  vars                jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(vars) = 'object'),
  secret_vars         text,
  status              text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'BOUNCED')),
  provider_message_id text CHECK (length(provider_message_id) <= 200),
  error               text CHECK (length(error) <= 300),
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Quiet duplicates: one message per key (e.g. per connection, recipient and day).
  dedupe_key          text CHECK (length(dedupe_key) <= 300),
  created_at          timestamptz NOT NULL,
  next_attempt_at     timestamptz NOT NULL,
  sent_at             timestamptz,
  CONSTRAINT notification_log_once UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX notification_log_tenant_created ON notification_log (tenant_id, created_at DESC, id DESC);
CREATE INDEX notification_log_due ON notification_log (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notification_log_message ON notification_log (tenant_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
SELECT keyhold_enable_tenant_rls('notification_log');
GRANT SELECT, INSERT, UPDATE ON notification_log TO keyhold_app;

-- The sender drains due messages across tenants (ids only); each is then claimed and updated
-- inside its tenant's context.
CREATE FUNCTION keyhold_due_notifications(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT tenant_id, id FROM notification_log
    WHERE status = 'PENDING' AND next_attempt_at <= p_now ORDER BY next_attempt_at LIMIT p_limit
  $$;
GRANT EXECUTE ON FUNCTION keyhold_due_notifications(timestamptz, integer) TO keyhold_app;

-- Per tenant: who hears of what, and where chat alerts go. No row = the defaults (owners by email).
CREATE TABLE notification_settings (
  tenant_id      uuid PRIMARY KEY REFERENCES tenants (id),
  -- Event type → roles whose active users get an email.
  email_rules    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(email_rules) = 'object'),
  -- Event types posted to the chat channel.
  chat_events    text[] NOT NULL DEFAULT '{}',
  chat_provider  text CHECK (chat_provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  chat_channel   text CHECK (chat_channel ~ '^[#A-Za-z0-9_.-]{1,80}$'),
  -- The tenant's own email connection (provider id) as sender, and its from-address.
  email_provider text CHECK (email_provider ~ '^[a-z][a-z0-9-]{1,40}$'),
  email_from     text CHECK (length(email_from) BETWEEN 3 AND 254),
  updated_at     timestamptz NOT NULL
);
SELECT keyhold_enable_tenant_rls('notification_settings');
GRANT SELECT, INSERT, UPDATE ON notification_settings TO keyhold_app;

-- Password reset: single use, 30 minutes, only the token's SHA-256 is stored.
CREATE TABLE password_reset_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (tenant_id, user_id);
SELECT keyhold_enable_tenant_rls('password_reset_tokens');
GRANT SELECT, INSERT, UPDATE ON password_reset_tokens TO keyhold_app;

-- A reset link arrives without a tenant: its hash finds the tenant (id only), the rest happens
-- inside that tenant's context.
CREATE FUNCTION keyhold_password_reset_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT tenant_id FROM password_reset_tokens WHERE token_hash = p_hash $$;
GRANT EXECUTE ON FUNCTION keyhold_password_reset_tenant(text) TO keyhold_app;

-- Trials ending soon (ids and end dates only), for the "trial ends in 3 days" email.
CREATE FUNCTION keyhold_trials_ending(p_from timestamptz, p_to timestamptz)
  RETURNS TABLE (id uuid, trial_ends_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id, trial_ends_at FROM tenants WHERE status = 'trial' AND deleted_at IS NULL AND trial_ends_at > p_from AND trial_ends_at <= p_to $$;
GRANT EXECUTE ON FUNCTION keyhold_trials_ending(timestamptz, timestamptz) TO keyhold_app;
