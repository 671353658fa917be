-- The change feed's cursor counts per tenant. With one sequence for every tenant, the gaps between
-- a tenant's cursors showed how much other tenants' records changed meanwhile; now a tenant's
-- cursors move only with its own writes. The row is also the lock that serializes a tenant's record
-- writers until they commit (it replaces the advisory lock), so a tenant's cursor order is its
-- commit order and a reader never skips a change.
CREATE TABLE record_feed_positions (
  tenant_id  uuid PRIMARY KEY REFERENCES tenants (id),
  last_seq   bigint NOT NULL CHECK (last_seq >= 0)
);
SELECT keyhold_enable_tenant_rls('record_feed_positions');
GRANT SELECT, INSERT, UPDATE ON record_feed_positions TO keyhold_app;

-- Cursors already handed out stay valid: each tenant continues after its own greatest.
INSERT INTO record_feed_positions (tenant_id, last_seq) SELECT tenant_id, max(change_seq) FROM records GROUP BY tenant_id;
DROP SEQUENCE records_change_seq;
