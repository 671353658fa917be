-- First-run onboarding: which steps a person put off ("skip for now") and whether they set the
-- whole list aside. Kept on the user (already under the tenant's RLS), so it follows the person
-- across browsers and reloads; the steps' completion is read from the organization itself.
ALTER TABLE users ADD COLUMN onboarding_skipped text[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN onboarding_dismissed_at timestamptz;
