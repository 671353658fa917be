-- keyhold:run-as-migrator
-- keyhold_jobs: pg-boss's login. It owns the job schema (`pgboss`, created and handed over by
-- `migrate`, see platform/db/job-schema.ts) and nothing else: no SUPERUSER, no BYPASSRLS, no
-- CREATE on the database, no right on any Keyhold table or function.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keyhold_jobs') THEN
    CREATE ROLE keyhold_jobs LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
  END IF;
END $$;

-- The migrator hands the job schema over to the role (ALTER … OWNER needs membership).
GRANT keyhold_jobs TO CURRENT_USER;
