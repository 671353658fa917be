import { z } from 'zod';

/**
 * What people filter the audit log by. `action` is exact (`user.invite`) or a family (`user.*`);
 * the outcome is read from the action's name, the one convention every failure entry follows.
 */
export const AuditFilterQuery = z.object({
  action: z.string().trim().max(100).regex(/^[a-z0-9_.:]+(\.\*)?$/, 'an action like user.invite, or a family like user.*').optional(),
  actorType: z.string().trim().max(40).optional(),
  actorId: z.string().trim().max(200).optional(),
  entityId: z.string().trim().max(200).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Entries at or after this instant'),
  to: z.iso.datetime({ offset: true }).optional().describe('Entries before this instant'),
});
export type AuditFilter = z.infer<typeof AuditFilterQuery>;

/** Actions that record something refused or gone wrong (`auth.login_failed`, `oauth.denied`, …). */
export const FAILURE_ACTION_PATTERN = '(_failed|_refused|_reuse|\\.denied)$';
const failureAction = new RegExp(FAILURE_ACTION_PATTERN);
export const outcomeOf = (action: string): 'success' | 'failure' => (failureAction.test(action) ? 'failure' : 'success');
