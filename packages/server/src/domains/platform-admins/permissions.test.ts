import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLATFORM_ROLES } from '../../platform/db/schema.js';
import { PLATFORM_PERMISSIONS, assertPermission } from './permissions.js';

describe('platform role table', () => {
  it('the README table and the enforced permissions are the same', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const lines = readme.split('\n').filter((l) => /^\| (tenants|api_keys|platform):/.test(l));
    const documented = Object.fromEntries(
      lines.map((l) => {
        const cells = l.split('|').slice(1, -1).map((c) => c.trim());
        const permission = cells[0]!.split(' ')[0]!;
        return [permission, PLATFORM_ROLES.filter((_, i) => cells[i + 1] === '✓')];
      }),
    );
    expect(documented).toEqual(Object.fromEntries(Object.entries(PLATFORM_PERMISSIONS).map(([k, v]) => [k, [...v]])));
  });

  it('denies with a message naming the role and the permission', () => {
    expect(() => assertPermission('MARKETING', 'tenants:delete')).toThrow("Your platform role (MARKETING) does not allow 'tenants:delete'");
    expect(() => assertPermission('SUPER_ADMIN', 'tenants:delete')).not.toThrow();
  });
});
