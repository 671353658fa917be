import { z } from 'zod';

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSeconds: z.number(),
});

export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    database: z.enum(['ok', 'unreachable']),
    migrations: z.object({
      applied: z.number().int(),
      expected: z.number().int(),
      pending: z.array(z.string()),
    }),
  }),
});
export type Readiness = z.infer<typeof ReadinessSchema>;
