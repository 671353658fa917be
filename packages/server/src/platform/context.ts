/** Who performed an action. Set from the authenticated principal, never from request input. */
export type Actor = {
  type: 'user' | 'platform_admin' | 'api_key' | 'system';
  id: string | null;
};

/** Where a request came from, carried into audit entries. */
export type RequestMeta = {
  requestId?: string;
  ip?: string;
  userAgent?: string;
};

/** The principal of a unit of work: its tenant (null for platform work), actor and request. */
export type PrincipalCtx = RequestMeta & {
  tenantId: string | null;
  actor: Actor;
};

export const systemActor: Actor = { type: 'system', id: null };
