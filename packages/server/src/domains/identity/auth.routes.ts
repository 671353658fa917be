import type {} from '@fastify/cookie';
import {
  LoginBody, LoginResponseSchema, MeSchema, MfaCodeBody, MfaSetupSchema, MfaVerifyBody, RecoveryCodesSchema,
  RefreshBody, SessionSchema, SignedInSchema, SignupBody, TokenPairSchema, successEnvelope,
} from '@keyhold/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { principalOf, requestMeta } from '../../platform/http/principals.js';
import { REFRESH_TTL_MS } from '../sessions/sessions.service.js';
import type { AuthService } from './auth.service.js';
import type { MfaService } from './mfa.service.js';

export type AuthRoutesDeps = { auth: AuthService; mfa: MfaService };

export const REFRESH_COOKIE = 'keyhold_refresh';

function setRefreshCookie(req: FastifyRequest, reply: FastifyReply, token: string) {
  reply.setCookie(REFRESH_COOKIE, token, {
    httpOnly: true,
    secure: req.protocol === 'https',
    sameSite: 'strict',
    path: '/api/auth',
    maxAge: Math.floor(REFRESH_TTL_MS / 1000),
  });
}

export function authRoutes(app: FastifyInstance, { auth, mfa }: AuthRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['auth'];

  r.post('/api/auth/signup', {
    schema: { tags, summary: 'Create an organization (trial) and its owner, signed in', body: SignupBody, response: { 201: successEnvelope(SignedInSchema) } },
  }, async (req, reply) => {
    const result = await auth.signup(requestMeta(req), req.body);
    setRefreshCookie(req, reply, result.refreshToken);
    return reply.code(201).send(ok(result));
  });

  r.get('/api/auth/signup', {
    schema: {
      tags,
      summary: 'Whether this server lets people create an organization: open, invite (with an invitation) or closed',
      response: { 200: successEnvelope(z.object({ mode: z.enum(['open', 'invite', 'closed']) })) },
    },
  }, async () => ok({ mode: auth.signupMode() }));

  r.post('/api/auth/login', {
    schema: { tags, summary: 'Sign in; answers an MFA challenge when the user has MFA', body: LoginBody, response: { 200: successEnvelope(LoginResponseSchema) } },
  }, async (req, reply) => {
    const result = await auth.login(requestMeta(req), req.body);
    if ('refreshToken' in result) setRefreshCookie(req, reply, result.refreshToken);
    return ok(result);
  });

  r.post('/api/auth/mfa/verify', {
    schema: { tags, summary: 'Complete an MFA sign-in with a TOTP or recovery code', body: MfaVerifyBody, response: { 200: successEnvelope(SignedInSchema) } },
  }, async (req, reply) => {
    const result = await auth.completeMfaLogin(requestMeta(req), req.body);
    setRefreshCookie(req, reply, result.refreshToken);
    return ok(result);
  });

  r.post('/api/auth/refresh', {
    schema: { tags, summary: 'Exchange a refresh token (body or cookie) for a new pair; the old one dies', body: RefreshBody, response: { 200: successEnvelope(TokenPairSchema) } },
  }, async (req, reply) => {
    const result = await auth.refresh(requestMeta(req), req.body?.refreshToken ?? req.cookies[REFRESH_COOKIE]);
    setRefreshCookie(req, reply, result.refreshToken);
    return ok(result);
  });

  r.post('/api/auth/logout', {
    schema: { tags, summary: 'End the current session', response: { 200: successEnvelope(z.object({ loggedOut: z.literal(true) })) } },
  }, async (req, reply) => {
    await auth.logout(principalOf(req));
    reply.clearCookie(REFRESH_COOKIE, { path: '/api/auth' });
    return ok({ loggedOut: true as const });
  });

  r.get('/api/auth/me', {
    schema: { tags, summary: 'The signed-in user, tenant and role', response: { 200: successEnvelope(MeSchema) } },
  }, async (req) => ok(await auth.me(principalOf(req))));

  r.get('/api/auth/sessions', {
    schema: { tags, summary: "The caller's active sessions", response: { 200: successEnvelope(z.array(SessionSchema)) } },
  }, async (req) => ok(await auth.listSessions(principalOf(req))));

  r.delete('/api/auth/sessions/:id', {
    schema: { tags, summary: "End one of the caller's sessions", params: z.object({ id: z.string().uuid() }), response: { 200: successEnvelope(z.object({ revoked: z.literal(true) })) } },
  }, async (req) => {
    await auth.revokeSession(principalOf(req), req.params.id);
    return ok({ revoked: true as const });
  });

  r.post('/api/auth/password', {
    schema: {
      tags,
      summary: 'Change your password; your other sessions end',
      body: z.object({ currentPassword: z.string().max(1024), newPassword: z.string().max(1024) }),
      response: { 200: successEnvelope(z.object({ changed: z.literal(true) })) },
    },
  }, async (req) => {
    await auth.changePassword(principalOf(req), req.body);
    return ok({ changed: true as const });
  });

  r.post('/api/auth/mfa/setup', {
    schema: { tags, summary: 'Start TOTP enrolment: a secret and otpauth URL, shown once', response: { 200: successEnvelope(MfaSetupSchema) } },
  }, async (req) => ok(await mfa.setup(principalOf(req))));

  r.post('/api/auth/mfa/enable', {
    schema: { tags, summary: 'Confirm enrolment with a code; returns 10 single-use recovery codes', body: MfaCodeBody, response: { 200: successEnvelope(RecoveryCodesSchema) } },
  }, async (req) => ok(await mfa.enable(principalOf(req), req.body.code)));

  r.post('/api/auth/mfa/disable', {
    schema: { tags, summary: 'Turn MFA off (needs a current code or a recovery code)', body: MfaCodeBody, response: { 200: successEnvelope(z.object({ mfaEnabled: z.literal(false) })) } },
  }, async (req) => {
    await mfa.disable(principalOf(req), req.body.code);
    return ok({ mfaEnabled: false as const });
  });
}
