-- The webhook signing secret a tenant replaced, kept for the overlap window of a rotation: the
-- provider may still sign (or retry) with it until the tenant's change reaches its dashboard.
-- A vault ciphertext like `secrets` (purpose `connection.previous_webhook_secret`, AAD bound to the
-- row id); when it was replaced decides whether it still verifies.
ALTER TABLE connections
  ADD COLUMN previous_webhook_secret text CHECK (previous_webhook_secret LIKE 'kh1.%'),
  ADD COLUMN webhook_secret_replaced_at timestamptz,
  ADD CONSTRAINT connections_previous_webhook_secret_dated
    CHECK ((previous_webhook_secret IS NULL) = (webhook_secret_replaced_at IS NULL));
