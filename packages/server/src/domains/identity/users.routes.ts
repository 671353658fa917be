import { UserSchema, pageQuery, pagedEnvelope, successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok, page } from '../../platform/http/envelope.js';
import { principalOf, requestMeta } from '../../platform/http/principals.js';
import { AcceptInviteInput, InviteUserInput, UpdateUserInput, type UsersService } from './users.service.js';

// The services' own input schemas: one definition for the route, the OpenAPI document and the service.
const InviteBody = InviteUserInput.extend({
  method: InviteUserInput.shape.method.describe('How the new user gets in; the secret is shown once'),
});
const InviteResult = z.object({ user: UserSchema, temporaryPassword: z.string().optional(), inviteToken: z.string().optional() });
const UpdateBody = UpdateUserInput;
const IdParams = z.object({ id: z.string().uuid() });

export function usersRoutes(app: FastifyInstance, { users }: { users: UsersService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['users'];

  r.get('/api/users', {
    schema: { tags, summary: 'Users of the organization (owner, admin)', querystring: pageQuery(), response: { 200: pagedEnvelope(UserSchema) } },
  }, async (req) => {
    const { items, pagination } = await users.list(principalOf(req), req.query.page, req.query.limit);
    return page(items, pagination);
  });

  r.post('/api/users', {
    schema: { tags, summary: 'Invite a user with a temporary password or an invitation token (owner, admin)', body: InviteBody, response: { 201: successEnvelope(InviteResult) } },
  }, async (req, reply) => reply.code(201).send(ok(await users.invite(principalOf(req), req.body))));

  r.patch('/api/users/:id', {
    schema: { tags, summary: "Change a user's role or active flag (owner, admin)", params: IdParams, body: UpdateBody, response: { 200: successEnvelope(UserSchema) } },
  }, async (req) => ok(await users.update(principalOf(req), req.params.id, req.body)));

  r.delete('/api/users/:id', {
    schema: { tags, summary: 'Remove a user (owner, admin)', params: IdParams, response: { 200: successEnvelope(z.object({ deleted: z.literal(true) })) } },
  }, async (req) => {
    await users.remove(principalOf(req), req.params.id);
    return ok({ deleted: true as const });
  });

  r.post('/api/auth/invite/accept', {
    schema: { tags: ['auth'], summary: 'Accept an invitation by choosing a password', body: AcceptInviteInput, response: { 200: successEnvelope(UserSchema) } },
  }, async (req) => ok(await users.acceptInvite(requestMeta(req), req.body)));
}
