import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an entry's hash covers; any change to one of them breaks the chain at that entry. */
export type ChainedEntry = {
  id: string;
  tenantId: string | null;
  seq: number;
  actorType: string;
  actorId: string | null;
  action: string;
  entityType: string | null;
  entityId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
};

export function entryHash(prevHash: string, entry: ChainedEntry): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalJson({ v: 1, ...entry })}`).digest('hex');
}

/** The hashed fields of a stored `audit_logs` row. */
export function chainedEntryFromRow(row: {
  id: string; tenant_id: string | null; seq: string; actor_type: string; actor_id: string | null; action: string;
  entity_type: string | null; entity_id: string | null; ip: string | null; user_agent: string | null;
  request_id: string | null; metadata: Record<string, unknown>; created_at: Date;
}): ChainedEntry {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
  };
}
