-- An event is queued for the drain only when something can act on it.
--
-- `webhook.received` (one per stored provider webhook) is the one type no part of Keyhold acts on:
-- it is there for the tenant's feed (`GET /api/events`) and for the tenant's own endpoints. Queued
-- for every delivery, it made the drain take back, per delivery, an entry that nobody used when
-- the tenant had no endpoint taking it (the common case): about a tenth of inbound webhook
-- throughput. It is now queued only when the tenant has an enabled endpoint that takes it (`*` or
-- the type), looked up in the inserting statement. An endpoint thus receives the `webhook.received`
-- events stored after it took them; every other type is queued as before. A consumer that starts
-- acting on `webhook.received` must change this function (events README, "Queue").
--
-- SECURITY DEFINER as before (the app role cannot write the queue). As the owner, the function
-- sees every tenant's endpoints (the owner's maintenance policy, migration 0002): the predicate
-- `w.tenant_id = n.tenant_id` is what keeps one tenant's endpoint from queueing another tenant's
-- events, and must stay. The index `webhook_endpoints_tenant` leads with `tenant_id`.
CREATE OR REPLACE FUNCTION keyhold_queue_new_events() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  INSERT INTO event_queue (tenant_id, id)
  SELECT n.tenant_id, n.id FROM new_events n
  WHERE n.type <> 'webhook.received'
     OR EXISTS (SELECT 1 FROM webhook_endpoints w
                WHERE w.tenant_id = n.tenant_id AND w.enabled AND ('*' = ANY (w.event_types) OR n.type = ANY (w.event_types)));
  RETURN NULL;
END $$;
