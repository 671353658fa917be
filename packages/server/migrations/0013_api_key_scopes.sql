-- Managing people and API keys gets scopes of its own (users:read, users:write, api_keys:read,
-- api_keys:write), never implied by a key's role.

ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write']::text[] AND cardinality(scopes) > 0);

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write']::text[] AND cardinality(scopes) > 0);
