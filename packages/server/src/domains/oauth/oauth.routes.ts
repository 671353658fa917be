import { successEnvelope } from '@keyhold/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import { AuthorizeInput, type AuthorizeService } from './authorize.service.js';
import type { DisconnectService } from './disconnect.service.js';

const ProviderParams = z.object({ provider: z.string().max(100) });
const IdParams = z.object({ id: z.string().uuid() });
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** People arrive at the callback in a browser: they get a readable page; API clients get JSON. */
const wantsHtml = (req: FastifyRequest) => (req.headers.accept ?? '').includes('text/html');

function errorPage(reply: FastifyReply, provider: string, err: AppError, requestId: string) {
  // A flow from a hosted Connect page names its own way back (its end user has no console).
  const connectBack = err.actions?.find((a) => a.url.startsWith('/connect/'))?.url;
  const back = connectBack ?? `/admin/integrations?${encodeURIComponent(provider)}=error&code=${err.code}`;
  return reply
    .code(err.httpStatus)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`<!doctype html><html><head><meta charset="utf-8"><title>Connection not completed</title></head><body>
<h1>The connection was not completed</h1><p>${escapeHtml(err.message)}</p>
<p>Code: <code>${err.code}</code> · Request: <code>${escapeHtml(requestId)}</code></p>
<p><a href="${escapeHtml(back)}">${connectBack ? 'Back' : 'Back to integrations'}</a></p></body></html>`);
}

export function oauthRoutes(app: FastifyInstance, deps: { authorize: AuthorizeService; disconnect: DisconnectService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['integrations'];

  r.get('/api/integrations/:provider/authorize', {
    schema: {
      tags,
      summary: "Start connecting an account by OAuth: returns the provider's consent URL and sets the browser-binding cookie (owner, admin)",
      params: ProviderParams,
      querystring: AuthorizeInput,
      response: { 200: successEnvelope(z.object({ authUrl: z.string().url() })) },
    },
  }, async (req, reply) => {
    const { authUrl, cookie } = await deps.authorize.start(principalOf(req), req.params.provider, req.query);
    reply.setCookie(cookie.name, cookie.value, { path: cookie.path, httpOnly: true, sameSite: 'lax', secure: cookie.secure, maxAge: cookie.maxAgeSeconds });
    reply.header('cache-control', 'no-store');
    return ok({ authUrl });
  });

  r.get('/api/integrations/:provider/callback', {
    schema: {
      tags,
      summary: 'Where the provider sends the browser back (one path per provider); redirects to the admin UI',
      params: ProviderParams,
      description: 'Redirects (302) to /admin/integrations?<provider>=configured, or =choose&pending=<id> when several accounts were authorised, or to returnTo.',
      querystring: z.record(z.string(), z.string()),
      response: { 302: z.null().describe('Redirect to the admin UI (Location header)') },
    },
  }, async (req, reply) => {
    try {
      const { redirect } = await deps.authorize.callback(req.params.provider, req.query, req.cookies);
      return reply.header('cache-control', 'no-store').redirect(redirect, 302);
    } catch (err) {
      if (err instanceof AppError && wantsHtml(req)) return errorPage(reply, req.params.provider, err, req.id);
      throw err;
    }
  });

  r.get('/api/integrations/pending/:id', {
    schema: {
      tags,
      summary: 'Accounts waiting for a choice after OAuth (several organisations or pages authorised at once)',
      params: IdParams,
      response: { 200: successEnvelope(z.object({ id: z.string(), provider: z.string(), label: z.string(), choices: z.array(z.object({ id: z.string(), name: z.string() })), expiresAt: z.string() })) },
    },
  }, async (req) => ok(await deps.authorize.pending(principalOf(req), req.params.id)));

  r.post('/api/integrations/pending/:id/select', {
    schema: {
      tags,
      summary: 'Connect the chosen account',
      params: IdParams,
      body: z.object({ choiceId: z.string().min(1).max(200) }),
      response: { 201: successEnvelope(z.object({ connectionId: z.string().uuid(), provider: z.string(), label: z.string(), returnTo: z.string() })) },
    },
  }, async (req, reply) => reply.code(201).send(ok(await deps.authorize.choose(principalOf(req), req.params.id, req.body.choiceId))));

  r.post('/api/integrations/:id/disconnect', {
    schema: {
      tags,
      summary: 'Revoke at the provider and disable the connection, keeping its id for a reconnect (owner, X-MFA-Code); audited',
      params: z.object({ id: z.string().uuid().describe('The connection id') }),
      response: {
        200: successEnvelope(z.object({ id: z.string(), provider: z.string(), label: z.string(), status: z.string(), revocation: z.enum(['revoked', 'not_supported', 'failed']) })),
      },
    },
  }, async (req) => ok(await deps.disconnect.disconnect(principalOf(req), req.params.id)));
}
