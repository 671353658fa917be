-- Sync engine: a schedule per (connection, sync), fair claiming across tenants, and more history.

-- One row per sync of each connection. Sync definitions are code (provider adapters), so rows are
-- created lazily: the scheduler's tick adds the missing ones for every connection of a provider
-- with syncs (keyhold_ensure_sync_schedules), and a tenant's own reads and writes add theirs.
CREATE TABLE sync_schedules (
  tenant_id                  uuid NOT NULL REFERENCES tenants (id),
  connection_id              uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  sync                       text NOT NULL CHECK (sync ~ '^[a-z][a-z0-9_]{0,62}$'),
  -- The definition's default (copied so SQL can compute the next run); refreshed by every ensure.
  default_frequency_minutes  integer NOT NULL CHECK (default_frequency_minutes BETWEEN 1 AND 525600),
  -- The tenant's override; null: the definition's default.
  frequency_minutes          integer CHECK (frequency_minutes BETWEEN 5 AND 525600),
  -- Paused by a person (PUT …/schedule).
  paused                     boolean NOT NULL DEFAULT false,
  -- Paused by Keyhold while the connection cannot be used; cleared when it can again.
  paused_reason              text CHECK (paused_reason IN ('needs_reauth', 'disabled')),
  next_run_at                timestamptz NOT NULL,
  -- When the scheduler last queued a run, the time it was due (queue wait = started - due).
  last_due_at                timestamptz,
  -- Set while a scheduled run is queued or running (its tenant's in-flight count), cleared when it ends.
  in_flight_until            timestamptz,
  PRIMARY KEY (tenant_id, connection_id, sync)
);
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at) WHERE NOT paused AND paused_reason IS NULL;
CREATE INDEX sync_schedules_in_flight ON sync_schedules (tenant_id) WHERE in_flight_until IS NOT NULL;
SELECT keyhold_enable_tenant_rls('sync_schedules');
GRANT SELECT, INSERT, UPDATE ON sync_schedules TO keyhold_app;

-- Scheduler: across tenants, adds the missing schedules of one provider's syncs (and refreshes the
-- definitions' defaults). Ids only; a new schedule is due at once (a new connection syncs soon).
CREATE FUNCTION keyhold_ensure_sync_schedules(p_provider text, p_syncs text[], p_defaults integer[], p_now timestamptz)
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH defs AS (SELECT * FROM unnest(p_syncs, p_defaults) AS d(sync, minutes)),
    fresh AS (
      UPDATE sync_schedules s SET default_frequency_minutes = d.minutes
      FROM defs d, connections c
      WHERE c.id = s.connection_id AND c.provider = p_provider AND s.sync = d.sync AND s.default_frequency_minutes <> d.minutes
      RETURNING 1
    ), added AS (
      INSERT INTO sync_schedules (tenant_id, connection_id, sync, default_frequency_minutes, paused_reason, next_run_at)
      SELECT c.tenant_id, c.id, d.sync, d.minutes,
             CASE WHEN c.status = 'needs_reauth' THEN 'needs_reauth' WHEN NOT c.is_active THEN 'disabled' END, p_now
      FROM connections c CROSS JOIN defs d
      WHERE c.provider = p_provider
      ON CONFLICT (tenant_id, connection_id, sync) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added)::integer
  $$;
GRANT EXECUTE ON FUNCTION keyhold_ensure_sync_schedules(text, text[], integer[], timestamptz) TO keyhold_app;

-- Scheduler: claims due schedules fairly across tenants and returns ids only (the runs then work
-- inside each tenant's context). Round robin: every tenant's oldest due schedule comes before any
-- tenant's second; a tenant gets at most p_per_tenant per claim and never more than
-- p_max_in_flight queued or running at once, so a tenant with thousands of due connections
-- holds a bounded share of the queue and a small tenant's run waits behind at most that share.
-- `ahead`: how many of its tenant's scheduled runs are queued or running before this one (the
-- queue's priority: a tenant with nothing in flight goes first). One claimer at a time (the
-- advisory lock): the round robin needs the whole picture.
CREATE FUNCTION keyhold_claim_due_syncs(p_now timestamptz, p_in_flight_until timestamptz, p_per_tenant integer, p_max_in_flight integer, p_limit integer)
  RETURNS TABLE (tenant_id uuid, connection_id uuid, sync text, due_at timestamptz, ahead integer)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
  BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('keyhold:claim_due_syncs', 0)) THEN
      RETURN;
    END IF;
    RETURN QUERY
    WITH busy AS (
      SELECT b.tenant_id, count(*) AS n FROM sync_schedules b
      WHERE b.in_flight_until IS NOT NULL AND b.in_flight_until > p_now GROUP BY b.tenant_id
    ), due AS (
      SELECT s.tenant_id, s.connection_id, s.sync, s.next_run_at,
             row_number() OVER (PARTITION BY s.tenant_id ORDER BY s.next_run_at, s.connection_id, s.sync) AS rank
      FROM sync_schedules s JOIN connections c ON c.id = s.connection_id
      WHERE NOT s.paused AND s.paused_reason IS NULL AND s.next_run_at <= p_now
        AND (s.in_flight_until IS NULL OR s.in_flight_until <= p_now)
        AND c.is_active AND c.status IN ('active', 'degraded')
    ), picked AS (
      SELECT d.tenant_id, d.connection_id, d.sync, d.next_run_at, (COALESCE(b.n, 0) + d.rank - 1)::integer AS ahead
      FROM due d LEFT JOIN busy b ON b.tenant_id = d.tenant_id
      WHERE d.rank <= LEAST(p_per_tenant, p_max_in_flight - COALESCE(b.n, 0))
      ORDER BY d.rank, d.next_run_at
      LIMIT p_limit
    )
    UPDATE sync_schedules s
      SET in_flight_until = p_in_flight_until, last_due_at = p.next_run_at,
          next_run_at = p_now + make_interval(mins => COALESCE(s.frequency_minutes, s.default_frequency_minutes))
    FROM picked p
    WHERE s.tenant_id = p.tenant_id AND s.connection_id = p.connection_id AND s.sync = p.sync
    RETURNING s.tenant_id, s.connection_id, s.sync, p.next_run_at, p.ahead;
  END
  $$;
GRANT EXECUTE ON FUNCTION keyhold_claim_due_syncs(timestamptz, timestamptz, integer, integer, integer) TO keyhold_app;

-- A run that was not started (its connection needs reauthorization or is disabled) is recorded as
-- `skipped`; the history shows the retry attempt, when a scheduled run was due, and how long the
-- run waited for the connection's rate limits (shared with live traffic).
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'skipped'));
ALTER TABLE sync_runs
  ADD COLUMN attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  ADD COLUMN due_at        timestamptz,
  ADD COLUMN rate_wait_ms  integer NOT NULL DEFAULT 0 CHECK (rate_wait_ms >= 0);
CREATE INDEX sync_runs_last_any ON sync_runs (tenant_id, connection_id, sync, id DESC);
