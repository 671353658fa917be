import { successEnvelope } from '@keyhold/contract';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import { ok } from '../../platform/http/envelope.js';
import { principalOf, requestMeta } from '../../platform/http/principals.js';
import { ProviderSchema } from '../catalog/catalog.routes.js';
import { TestFailure, TestResult, testReply } from '../connections/connections.routes.js';
import { type ConnectSessionsService, CreateSessionInput, PageCredentialsInput, PageOAuthInput, ReconnectSessionInput } from './connect-sessions.service.js';

const CreatedSession = z.object({
  id: z.string().uuid(),
  token: z.string().describe('Single use; valid until expiresAt. Give it (or url) to the browser only'),
  url: z.string().url().describe('The hosted Connect page: open it with @keyhold/connect'),
  expiresAt: z.string(),
});
const Completed = z.object({ connectionId: z.string().uuid(), provider: z.string(), label: z.string() });
const SCHEME = 'ConnectSession ';
const pageHeaders = z.object({ authorization: z.string().max(200).optional().describe('`ConnectSession <token>`') });

/** The page's only credential: the session token in `Authorization: ConnectSession <token>`. */
function sessionToken(req: FastifyRequest): string {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith(SCHEME)) throw new AppError('CONNECT_SESSION_INVALID', 'This request needs a connect session (Authorization: ConnectSession <token>)');
  return h.slice(SCHEME.length).trim();
}

export function connectSessionsRoutes(app: FastifyInstance, { connectSessions }: { connectSessions: ConnectSessionsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['connect'];

  r.post('/api/connect/sessions', {
    schema: {
      tags,
      summary: "Open a hosted Connect session for one of your end users (an API key with 'connect', or a platform key naming the tenant); single use, at most 30 minutes",
      body: CreateSessionInput,
      response: { 201: successEnvelope(CreatedSession) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await connectSessions.create(principalOf(req), req.body))));

  r.post('/api/connect/sessions/reconnect', {
    schema: {
      tags,
      summary: 'Open a Connect session that re-authorises a connection in needs_reauth (409 RECONNECT_NOT_NEEDED otherwise)',
      body: ReconnectSessionInput,
      response: { 201: successEnvelope(CreatedSession) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await connectSessions.reconnect(principalOf(req), req.body))));

  r.get('/api/connect/session', {
    schema: {
      tags,
      summary: "The Connect page's session: the offered providers' forms (never a saved secret)",
      headers: pageHeaders,
      response: {
        200: successEnvelope(z.object({
          label: z.string(), reconnect: z.boolean(), providers: z.array(ProviderSchema), allowedOrigins: z.array(z.string()), returnTo: z.string().nullable(), expiresAt: z.string(),
        })),
      },
    },
  }, async (req) => ok(await connectSessions.view(sessionToken(req))));

  r.post('/api/connect/session/test', {
    schema: { tags, summary: 'Test credentials from the Connect page (nothing is saved)', headers: pageHeaders, body: PageCredentialsInput, response: { 200: TestResult, 422: TestFailure, 502: TestFailure } },
  }, async (req, reply) => testReply(reply, req.id, await connectSessions.test(sessionToken(req), req.body, requestMeta(req))));

  r.post('/api/connect/session/credentials', {
    schema: {
      tags,
      summary: 'Save an API-key connection from the Connect page (verified first); spends the session',
      headers: pageHeaders,
      body: PageCredentialsInput,
      response: { 201: successEnvelope(Completed) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await connectSessions.saveCredentials(sessionToken(req), req.body, requestMeta(req)))));

  r.post('/api/connect/session/oauth/:provider', {
    schema: {
      tags,
      summary: "Start the provider's consent from the Connect page; the callback spends the session and returns to /connect/done",
      headers: pageHeaders,
      params: z.object({ provider: z.string().max(100) }),
      body: PageOAuthInput,
      response: { 200: successEnvelope(z.object({ authUrl: z.string().url() })) },
    },
  }, async (req, reply) => {
    const { authUrl, cookie } = await connectSessions.startOAuth(sessionToken(req), req.params.provider, req.body, requestMeta(req));
    // The browser-binding cookie of the OAuth flow: the consent must come back to this browser.
    reply.setCookie(cookie.name, cookie.value, { path: cookie.path, httpOnly: true, sameSite: 'lax', secure: cookie.secure, maxAge: cookie.maxAgeSeconds });
    return ok({ authUrl });
  });

  r.get('/api/connect/session/result', {
    schema: { tags, summary: 'What the completed session connected (for the page after an OAuth round trip)', headers: pageHeaders, response: { 200: successEnvelope(Completed.extend({ allowedOrigins: z.array(z.string()), returnTo: z.string().nullable() })) } },
  }, async (req) => ok(await connectSessions.result(sessionToken(req))));
}
