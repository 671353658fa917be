import type pg from 'pg';
import PgBoss from 'pg-boss';
import { JOBS_ROLE } from '../config.js';

/** pg-boss's schema; owned by the jobs role. */
export const JOBS_SCHEMA = 'pgboss';

/**
 * Gives every object in the job schema to the jobs role. Sequences tied to a column move with
 * their table; the rest (tables, partitions, types, functions) one by one.
 */
const HAND_OVER = `
DO $$
DECLARE obj record;
BEGIN
  EXECUTE format('ALTER SCHEMA %I OWNER TO %I', '${JOBS_SCHEMA}', '${JOBS_ROLE}');
  FOR obj IN
    SELECT c.oid::regclass AS name FROM pg_class c
    WHERE c.relnamespace = '${JOBS_SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND c.relowner <> '${JOBS_ROLE}'::regrole
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO %I', obj.name, '${JOBS_ROLE}');
  END LOOP;
  FOR obj IN
    SELECT t.oid::regtype AS name FROM pg_type t
    WHERE t.typnamespace = '${JOBS_SCHEMA}'::regnamespace AND t.typtype IN ('e', 'd') AND t.typowner <> '${JOBS_ROLE}'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', obj.name, '${JOBS_ROLE}');
  END LOOP;
  FOR obj IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p
    WHERE p.pronamespace = '${JOBS_SCHEMA}'::regnamespace AND p.proowner <> '${JOBS_ROLE}'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, '${JOBS_ROLE}');
  END LOOP;
END $$`;

/**
 * Installs pg-boss's schema for the jobs role. pg-boss creates it with `CREATE SCHEMA IF NOT
 * EXISTS`, which needs CREATE on the database even when the schema exists; the jobs role must not
 * hold that right (it could create a schema named after another role and shadow that role's
 * tables through its search_path). So the migrator runs pg-boss's own construction plan once and
 * hands every object to the jobs role; from then on pg-boss, logged in as that role, runs its own
 * upgrades. A schema created by earlier Keyhold versions (pg-boss ran as the migrator) is handed
 * over the same way. Idempotent; `migrate` calls it under its lock.
 */
export async function prepareJobSchema(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ installed: boolean }>(`select to_regclass('${JOBS_SCHEMA}.version') is not null as installed`);
  if (!rows[0]!.installed) await client.query(PgBoss.getConstructionPlans(JOBS_SCHEMA));
  await client.query(HAND_OVER);
}
