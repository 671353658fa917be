-- The outbox's "not yet handed to the consumers" moves from a column of `events` to a queue of its
-- own. Marking an event dispatched was an UPDATE of every drained row: a new row version plus an
-- entry in each of the table's five indexes (the pending index's predicate names the column, so the
-- update could never be HOT), and the partial index filled with entries of rows already
-- dispatched, which every drain then walked (a bitmap scan of ~44,000 entries to find 220 pending
-- rows under a webhook burst). Now an event is inserted once and never written again; its queue
-- entry (two uuids) is inserted with it and deleted when a drain hands it over.
--
-- During a rolling upgrade, nodes of the previous version cannot hand events over any more (their
-- drain reads the dropped column and fails, logged once a minute); nothing is lost or handed over
-- twice: the events wait in the queue for an upgraded node. docs/deploy.md says so.
CREATE TABLE event_queue (
  tenant_id uuid NOT NULL,
  id        uuid NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
SELECT keyhold_enable_tenant_rls('event_queue');
-- Entries are made by the trigger below only; the drain reads, locks and deletes them. FOR UPDATE
-- needs an UPDATE privilege on some column: on `tenant_id`, which RLS lets no update change (the
-- row must stay in the transaction's tenant), so the app can change no entry.
GRANT SELECT, DELETE ON event_queue TO keyhold_app;
GRANT UPDATE (tenant_id) ON event_queue TO keyhold_app;

-- Every event is queued in the statement that inserts it, whoever inserts it (the outbox in the
-- app, the webhook store function): one INSERT per statement, from its transition table. The owner
-- writes the entries (the app role cannot queue anything itself); each copies its event's tenant.
CREATE FUNCTION keyhold_queue_new_events() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  INSERT INTO event_queue (tenant_id, id) SELECT n.tenant_id, n.id FROM new_events n;
  RETURN NULL;
END $$;
CREATE TRIGGER events_queue AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION keyhold_queue_new_events();

INSERT INTO event_queue (tenant_id, id) SELECT tenant_id, id FROM events WHERE dispatched_at IS NULL;
DROP INDEX events_pending;
REVOKE UPDATE (dispatched_at) ON events FROM keyhold_app;
ALTER TABLE events DROP COLUMN dispatched_at;

-- Every read of `events` names its tenant: the primary key leads with it, which makes the separate
-- (tenant_id, id) index redundant (one index fewer to write per event). The key is rebuilt with
-- the table locked (event writes wait for it: about a second per million events).
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, id);
DROP INDEX events_tenant;

-- Tenants with queued events, the one waiting longest first (ids only). A skip scan over the
-- queue's key: one index probe per tenant, not a read of every queued entry. (On Citus, where a
-- recursive query over a distributed table is refused, this becomes a query per shard.)
CREATE OR REPLACE FUNCTION keyhold_tenants_with_pending_events(p_limit integer) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH RECURSIVE t AS (
      (SELECT q.tenant_id, q.id FROM event_queue q ORDER BY q.tenant_id, q.id LIMIT 1)
      UNION ALL
      SELECT n.tenant_id, n.id FROM t CROSS JOIN LATERAL (
        SELECT q.tenant_id, q.id FROM event_queue q WHERE q.tenant_id > t.tenant_id ORDER BY q.tenant_id, q.id LIMIT 1
      ) n
    )
    SELECT t.tenant_id FROM t ORDER BY t.id LIMIT p_limit
  $$;

-- A drain's batch: the tenant's oldest queued entries, locked (entries another drain holds are
-- skipped) and deleted; their ids come back. Always by the queue's key in order, one probe for the
-- batch: the planner, misled by a queue that changes faster than its statistics, otherwise read
-- every entry of the tenant into a bitmap and sorted them (26 ms a batch at 51,000 queued, growing
-- with the backlog). SECURITY INVOKER: RLS applies, so a tenant takes only its own entries.
CREATE FUNCTION keyhold_take_queued_events(p_tenant uuid, p_limit integer) RETURNS SETOF uuid
  LANGUAGE sql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp SET enable_bitmapscan = off SET enable_sort = off
  AS $$
    DELETE FROM event_queue q WHERE q.tenant_id = p_tenant AND q.id = ANY (ARRAY(
      SELECT x.id FROM event_queue x WHERE x.tenant_id = p_tenant ORDER BY x.tenant_id, x.id LIMIT p_limit FOR UPDATE SKIP LOCKED))
    RETURNING q.id
  $$;
GRANT EXECUTE ON FUNCTION keyhold_take_queued_events(uuid, integer) TO keyhold_app;
