import type { PlatformRole } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';

/** Which platform roles may do what. The README shows the same table; tests enforce it. */
export const PLATFORM_PERMISSIONS = {
  'tenants:read': ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT', 'MARKETING', 'FINANCE', 'SALES'],
  'tenants:create': ['SUPER_ADMIN', 'ADMIN', 'SALES'],
  'tenants:update': ['SUPER_ADMIN', 'ADMIN', 'FINANCE', 'SALES'],
  'tenants:suspend': ['SUPER_ADMIN', 'ADMIN', 'SUPPORT'],
  'tenants:delete': ['SUPER_ADMIN'],
  /** Cross-tenant health figures, key status and the admins list (operations staff). */
  'platform:read': ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT'],
  'api_keys:manage': ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER'],
  /** Platform keys with 'credentials:read' read every tenant's plaintext secrets. */
  'api_keys:read_secrets': ['SUPER_ADMIN'],
} as const satisfies Record<string, readonly PlatformRole[]>;

export type PlatformPermission = keyof typeof PLATFORM_PERMISSIONS;

export function assertPermission(role: PlatformRole, permission: PlatformPermission) {
  if (!(PLATFORM_PERMISSIONS[permission] as readonly PlatformRole[]).includes(role)) {
    throw new AppError('FORBIDDEN', `Your platform role (${role}) does not allow '${permission}'`);
  }
}
