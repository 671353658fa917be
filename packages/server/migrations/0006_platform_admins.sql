-- Platform operators. Platform-level tables (no tenant): only the app role's grants guard them.

CREATE TABLE platform_admins (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email              text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash      text NOT NULL,
  role               text NOT NULL CHECK (role IN ('SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT', 'MARKETING', 'FINANCE', 'SALES')),
  is_active          boolean NOT NULL DEFAULT true,
  mfa_pending_secret text,
  mfa_secret         text,
  mfa_last_step      bigint,
  last_login_at      timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON platform_admins TO keyhold_app;

CREATE TABLE platform_sessions (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  admin_id       uuid NOT NULL REFERENCES platform_admins (id),
  ip             text,
  user_agent     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text
);
GRANT SELECT, INSERT, UPDATE ON platform_sessions TO keyhold_app;

CREATE TABLE platform_refresh_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES platform_sessions (id),
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
);
GRANT SELECT, INSERT, UPDATE ON platform_refresh_tokens TO keyhold_app;

-- Platform admin search over tenants: ids (and the total) only; rows are then read per tenant.
CREATE FUNCTION keyhold_search_tenant_ids(p_status text, p_plan text, p_search text, p_limit int, p_offset int)
  RETURNS TABLE (id uuid, total bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT t.id, count(*) OVER () AS total
    FROM tenants t
    WHERE t.deleted_at IS NULL
      AND (p_status IS NULL OR t.status = p_status)
      AND (p_plan IS NULL OR t.plan = p_plan)
      AND (p_search IS NULL OR t.slug ILIKE '%' || p_search || '%' OR t.name ILIKE '%' || p_search || '%')
    ORDER BY t.created_at DESC, t.id
    LIMIT p_limit OFFSET p_offset
  $$;

-- Trials past their end date (ids only), for the scheduled expiry job.
CREATE FUNCTION keyhold_expired_trial_ids(p_now timestamptz) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants WHERE status = 'trial' AND trial_ends_at <= p_now AND deleted_at IS NULL $$;

GRANT EXECUTE ON FUNCTION keyhold_search_tenant_ids(text, text, text, int, int), keyhold_expired_trial_ids(timestamptz) TO keyhold_app;
