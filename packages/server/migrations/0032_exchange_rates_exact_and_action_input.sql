-- A rate is stored exactly as it was sent: numeric(24,12) kept 8 significant digits of a small
-- rate such as IDR→USD (6.681495123e-5), so the stored rate differed from the one written.
ALTER TABLE exchange_rates ALTER COLUMN rate TYPE numeric;
