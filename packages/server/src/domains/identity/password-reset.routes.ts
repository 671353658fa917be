import { successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { requestMeta } from '../../platform/http/principals.js';
import { ForgotInput, type PasswordReset, ResetInput } from './password-reset.js';

export const FORGOT_ANSWER = 'If that account exists, an email with a link to reset its password is on its way.';

export function passwordResetRoutes(app: FastifyInstance, { passwordReset }: { passwordReset: PasswordReset }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['auth'];

  r.post('/api/auth/password/forgot', {
    schema: {
      tags,
      summary: 'Ask for a password reset link by email; the answer is the same whether or not the account exists',
      body: ForgotInput,
      response: { 202: successEnvelope(z.object({ requested: z.literal(true) })) },
    },
  }, async (req, reply) => {
    await passwordReset.forgot(requestMeta(req), req.body);
    return reply.code(202).send(ok({ requested: true as const }, { message: FORGOT_ANSWER }));
  });

  r.post('/api/auth/password/reset', {
    schema: {
      tags,
      summary: 'Set a new password with a reset link\'s token (single use, 30 minutes); every session of the user ends',
      body: ResetInput,
      response: { 200: successEnvelope(z.object({ reset: z.literal(true) })) },
    },
  }, async (req) => {
    await passwordReset.reset(requestMeta(req), req.body);
    return ok({ reset: true as const });
  });
}
