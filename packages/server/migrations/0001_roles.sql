-- keyhold:run-as-migrator
-- Two roles, created once per cluster:
--   keyhold_owner  owns every Keyhold object; migrations run as it. It cannot log in.
--   keyhold_app    the role the server runs as. No BYPASSRLS, owns nothing, cannot become the owner.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keyhold_owner') THEN
    CREATE ROLE keyhold_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keyhold_app') THEN
    CREATE ROLE keyhold_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
  END IF;
END $$;

-- The migrator switches to the owner role for every later migration.
GRANT keyhold_owner TO CURRENT_USER;

-- Nobody but the owner creates objects in the schema; the app role only uses it.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO keyhold_owner;
GRANT USAGE ON SCHEMA public TO keyhold_app;

-- Functions are executable by PUBLIC by default; Keyhold grants EXECUTE explicitly instead.
ALTER DEFAULT PRIVILEGES FOR ROLE keyhold_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT SELECT ON keyhold_migrations TO keyhold_app;
