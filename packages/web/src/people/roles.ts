import type { Role } from '../api/types';

export const ROLES: Role[] = ['owner', 'admin', 'member', 'viewer'];
export const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/**
 * The API's rules (users.service): admins manage admins, members and viewers; only an owner
 * grants, changes or removes the owner role. Buttons follow them; the API refuses anyway.
 */
export const grantable = (mine: Role): Role[] => ROLES.filter((r) => RANK[r] <= RANK[mine]);
export const mayManage = (mine: Role, theirs: Role) => RANK[mine] >= RANK.admin && (theirs !== 'owner' || mine === 'owner');
export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');
