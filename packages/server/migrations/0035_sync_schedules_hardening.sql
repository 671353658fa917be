-- Sync schedules: run-all goes through the fair claim, a claim is identified by its own id, and
-- the SECURITY DEFINER functions no longer trust their caller's times.

-- Set by run-all: the schedule is due now and its next claimed run is recorded as `manual`
-- (cleared by the claim). Run-all thus shares the queue like scheduled runs do.
ALTER TABLE sync_schedules ADD COLUMN pending_trigger text CHECK (pending_trigger IN ('manual'));
-- The id of the claim that holds the in-flight slot: only that claim's run may release or renew it
-- (a stale job whose slot expired and was claimed again must not free the newer claim's slot).
ALTER TABLE sync_schedules ADD COLUMN in_flight_claim uuid;
-- The claim's due scan (a run-all also covers schedules a person paused).
DROP INDEX sync_schedules_due;
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at) WHERE paused_reason IS NULL AND (NOT paused OR pending_trigger IS NOT NULL);

CREATE OR REPLACE FUNCTION keyhold_ensure_sync_schedules(p_provider text, p_syncs text[], p_defaults integer[], p_now timestamptz)
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH defs AS (SELECT * FROM unnest(p_syncs, p_defaults) AS d(sync, minutes)),
    fresh AS (
      UPDATE sync_schedules s SET default_frequency_minutes = d.minutes
      FROM defs d, connections c
      WHERE c.id = s.connection_id AND c.tenant_id = s.tenant_id AND c.provider = p_provider AND s.sync = d.sync AND s.default_frequency_minutes <> d.minutes
      RETURNING 1
    ), added AS (
      INSERT INTO sync_schedules (tenant_id, connection_id, sync, default_frequency_minutes, paused_reason, next_run_at)
      SELECT c.tenant_id, c.id, d.sync, d.minutes,
             CASE WHEN c.status = 'needs_reauth' THEN 'needs_reauth' WHEN NOT c.is_active THEN 'disabled' END,
             -- The caller's clock is trusted only within a day of the database's.
             CASE WHEN p_now BETWEEN now() - interval '1 day' AND now() + interval '1 day' THEN p_now ELSE now() END
      FROM connections c CROSS JOIN defs d
      WHERE c.provider = p_provider
      ON CONFLICT (tenant_id, connection_id, sync) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added)::integer
  $$;

-- The claim now also returns the run's trigger (`manual` after a run-all), the claim's id and the
-- time its slot is held until. p_now must be within a day of the database's clock (refused
-- otherwise: a caller could claim schedules not yet due, or hold slots as long as it likes), and
-- a slot is held at most 2 hours past p_now whatever the caller asks.
DROP FUNCTION keyhold_claim_due_syncs(timestamptz, timestamptz, integer, integer, integer);
CREATE FUNCTION keyhold_claim_due_syncs(p_now timestamptz, p_in_flight_until timestamptz, p_per_tenant integer, p_max_in_flight integer, p_limit integer)
  RETURNS TABLE (tenant_id uuid, connection_id uuid, sync text, due_at timestamptz, ahead integer, run_trigger text, claim_id uuid, in_flight_until timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
  DECLARE
    v_until timestamptz;
  BEGIN
    IF p_now IS NULL OR NOT (p_now BETWEEN now() - interval '1 day' AND now() + interval '1 day') THEN
      RAISE EXCEPTION 'keyhold_claim_due_syncs: p_now must be within a day of now()' USING ERRCODE = '22023';
    END IF;
    v_until := LEAST(COALESCE(p_in_flight_until, p_now), p_now + interval '2 hours');
    IF NOT pg_try_advisory_xact_lock(hashtextextended('keyhold:claim_due_syncs', 0)) THEN
      RETURN;
    END IF;
    RETURN QUERY
    WITH busy AS (
      SELECT b.tenant_id, count(*) AS n FROM sync_schedules b
      WHERE b.in_flight_until IS NOT NULL AND b.in_flight_until > p_now GROUP BY b.tenant_id
    ), due AS (
      SELECT s.tenant_id, s.connection_id, s.sync, s.next_run_at, s.pending_trigger,
             row_number() OVER (PARTITION BY s.tenant_id ORDER BY s.next_run_at, s.connection_id, s.sync) AS rank
      FROM sync_schedules s JOIN connections c ON c.id = s.connection_id AND c.tenant_id = s.tenant_id
      -- A run-all covers schedules a person paused (it ran every usable sync before it used the claim).
      WHERE (NOT s.paused OR s.pending_trigger IS NOT NULL) AND s.paused_reason IS NULL AND s.next_run_at <= p_now
        AND (s.in_flight_until IS NULL OR s.in_flight_until <= p_now)
        AND c.is_active AND c.status IN ('active', 'degraded')
    ), picked AS (
      SELECT d.tenant_id, d.connection_id, d.sync, d.next_run_at, d.pending_trigger, (COALESCE(b.n, 0) + d.rank - 1)::integer AS ahead
      FROM due d LEFT JOIN busy b ON b.tenant_id = d.tenant_id
      WHERE d.rank <= LEAST(p_per_tenant, p_max_in_flight - COALESCE(b.n, 0))
      ORDER BY d.rank, d.next_run_at
      LIMIT p_limit
    )
    UPDATE sync_schedules s
      SET in_flight_until = v_until, in_flight_claim = gen_random_uuid(), last_due_at = p.next_run_at, pending_trigger = NULL,
          next_run_at = p_now + make_interval(mins => COALESCE(s.frequency_minutes, s.default_frequency_minutes))
    FROM picked p
    WHERE s.tenant_id = p.tenant_id AND s.connection_id = p.connection_id AND s.sync = p.sync
    RETURNING s.tenant_id, s.connection_id, s.sync, p.next_run_at, p.ahead, COALESCE(p.pending_trigger, 'schedule'), s.in_flight_claim, s.in_flight_until;
  END
  $$;
GRANT EXECUTE ON FUNCTION keyhold_claim_due_syncs(timestamptz, timestamptz, integer, integer, integer) TO keyhold_app;
