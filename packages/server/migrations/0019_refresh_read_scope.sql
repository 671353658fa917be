-- Machine reads hand out OAuth refresh tokens only to platform keys holding
-- 'credentials:read:refresh'; tenant keys cannot hold it.

ALTER TABLE platform_api_keys DROP CONSTRAINT platform_api_keys_scopes_check;
ALTER TABLE platform_api_keys ADD CONSTRAINT platform_api_keys_scopes_check CHECK (scopes <@ ARRAY[
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'audit:read', 'events:read',
  'users:read', 'users:write', 'api_keys:read', 'api_keys:write', 'credentials:read:refresh']::text[] AND cardinality(scopes) > 0);
