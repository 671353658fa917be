-- A key created by another key dies with it: a leaked key cannot leave children behind.
ALTER TABLE api_keys ADD COLUMN created_by_key uuid REFERENCES api_keys (id);
CREATE INDEX api_keys_created_by_key ON api_keys (tenant_id, created_by_key) WHERE created_by_key IS NOT NULL;

-- Platform keys act in every tenant: they never manage people or keys there.
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_no_management CHECK (
  NOT scopes && ARRAY['users:read', 'users:write', 'api_keys:read', 'api_keys:write']::text[]);
