-- Syncs: provider data copied into a tenant's records store, and the history of every run.

-- The latest version of each provider record. `change_seq` is the change feed's cursor: it moves
-- only when the payload (its hash) changes or the record is deleted or comes back. Writers of one
-- tenant take that tenant's transaction-level advisory lock before drawing from the sequence, so
-- within a tenant the order of change_seq is the order of commits (a reader never skips a change).
CREATE SEQUENCE records_change_seq AS bigint;
GRANT USAGE ON SEQUENCE records_change_seq TO keyhold_app;

CREATE TABLE records (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  model          text NOT NULL CHECK (model ~ '^[a-z][a-z0-9_]{0,62}$'),
  external_id    text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 300),
  payload        jsonb NOT NULL,
  payload_hash   bytea NOT NULL CHECK (length(payload_hash) = 32),
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  -- The run that last saw the record: a successful full run deletes what it did not see.
  seen_run_id    uuid NOT NULL,
  changed_at     timestamptz NOT NULL,
  deleted_at     timestamptz,
  change_seq     bigint NOT NULL,
  PRIMARY KEY (tenant_id, connection_id, model, external_id)
);
CREATE INDEX records_feed ON records (tenant_id, model, change_seq);
SELECT keyhold_enable_tenant_rls('records');
GRANT SELECT, INSERT, UPDATE ON records TO keyhold_app;

-- One row per run. A `running` row is the run's lease: at most one per (connection, sync), and
-- one whose lease ran out (its process died) is closed as failed by the next run that wants it.
CREATE TABLE sync_runs (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  connection_id   uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  sync            text NOT NULL CHECK (sync ~ '^[a-z][a-z0-9_]{0,62}$'),
  trigger         text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'webhook', 'reset')),
  mode            text NOT NULL CHECK (mode IN ('full', 'incremental')),
  status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at      timestamptz NOT NULL,
  lease_until     timestamptz NOT NULL,
  finished_at     timestamptz,
  added           integer NOT NULL DEFAULT 0 CHECK (added >= 0),
  updated         integer NOT NULL DEFAULT 0 CHECK (updated >= 0),
  deleted         integer NOT NULL DEFAULT 0 CHECK (deleted >= 0),
  pages           integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
  provider_calls  integer NOT NULL DEFAULT 0 CHECK (provider_calls >= 0),
  -- Where the next incremental run starts (the reader's checkpoint, e.g. a timestamp): set only by a succeeded run.
  checkpoint      text CHECK (length(checkpoint) <= 500),
  -- The change feed's range this run wrote (exclusive from, inclusive to).
  cursor_from     bigint,
  cursor_to       bigint,
  error_code      text CHECK (error_code ~ '^[A-Za-z0-9_.:-]{1,64}$')
);
-- Ids are UUIDv7 (time-ordered): the history and "the last succeeded run" are ordered by id.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (tenant_id, connection_id, sync) WHERE status = 'running';
CREATE INDEX sync_runs_history ON sync_runs (tenant_id, id DESC);
CREATE INDEX sync_runs_last ON sync_runs (tenant_id, connection_id, sync, id DESC) WHERE status = 'succeeded';
SELECT keyhold_enable_tenant_rls('sync_runs');
GRANT SELECT, INSERT, UPDATE ON sync_runs TO keyhold_app;

-- Reading a tenant's records is a scope of its own.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'records:read']::text[] AND cardinality(scopes) > 0);

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write',
  'credentials:read:refresh', 'records:read']::text[] AND cardinality(scopes) > 0);
