-- A rate is stored exactly as it was sent: numeric(24,12) kept 8 significant digits of a small
-- rate such as IDR→USD (6.681495123e-5), so the stored rate differed from the one written.
ALTER TABLE exchange_rates ALTER COLUMN rate TYPE numeric;

-- An action's row remembers the input its key ran with (sha-256 of the canonical validated input):
-- the key reused with another input is refused instead of replaying or resending the old write.
-- `send_attempt` numbers the sends a provider's own idempotency key (Intuit's requestid) is
-- derived from: it stays while an outcome is unknown (the same send is repeated, the provider
-- answers it once) and moves on after the provider refused (a resend would only replay the refusal).
ALTER TABLE sync_runs
  ADD COLUMN input_hash text CHECK (input_hash ~ '^[0-9a-f]{64}$'),
  ADD COLUMN send_attempt integer NOT NULL DEFAULT 0 CHECK (send_attempt >= 0);
