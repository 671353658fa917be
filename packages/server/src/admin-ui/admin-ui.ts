import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` writes the console (packages/web/dist), from src/ and dist/ alike. */
export const DEFAULT_ADMIN_UI_ROOT = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/**
 * The console's pages run only the bundle's own scripts. Styles allow inline attributes because
 * the component library sets CSS variables on elements; no script can be injected through them.
 */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// Vite names every asset by its content hash: a changed file is a new URL, so caching is forever.
const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Keyhold console not built</title></head>
<body><main><h1>The Keyhold console is not built</h1>
<p>Run <code>npm run build</code> in the Keyhold directory, then start the server again (<code>npm start</code> does both).</p>
<p>The API under <code>/api</code> works without it.</p></main></body></html>`;

/**
 * The hosted Connect page: the console's policy, except that the session's own allowed origins
 * (and nobody else) may frame it. Origins are validated exact `scheme://host[:port]` values.
 */
export function connectCsp(frameAncestors: readonly string[]): string {
  const ancestors = frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'";
  return ADMIN_CSP.replace("frame-ancestors 'none'", `frame-ancestors ${ancestors}`);
}

function page(reply: FastifyReply, status: number, html: string) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    // The page names the current bundle's hashed files: always asked again, never stale after an upgrade.
    .header('cache-control', 'no-cache')
    .header('content-security-policy', ADMIN_CSP)
    .header('x-frame-options', 'DENY')
    .send(html);
}

/**
 * The tenant console under /admin: hashed assets from disk, every other /admin path answers the
 * app's index.html so deep links (the OAuth callback's /admin/integrations) open the right screen.
 * Without a build, /admin explains how to make one instead of failing the server.
 * `/connect` is kept free for the hosted Connect page.
 */
export async function adminUiRoutes(app: FastifyInstance, opts: { root?: string; connectFrameAncestors?: (token: string) => Promise<string[]> } = {}) {
  const root = opts.root ?? DEFAULT_ADMIN_UI_ROOT;
  const indexPath = join(root, 'index.html');
  const built = existsSync(indexPath);
  // `hide`: outside the API, so outside the operation table (no auth: the app signs in itself).
  const schema = { hide: true };

  if (!built) {
    app.get('/admin', { schema }, (_req, reply) => page(reply, 503, NOT_BUILT));
    app.get('/admin/*', { schema }, (_req, reply) => page(reply, 503, NOT_BUILT));
    connectRoute(app, NOT_BUILT, opts.connectFrameAncestors);
    return;
  }

  const index = readFileSync(indexPath, 'utf8');
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/admin/assets/',
    decorateReply: false,
    index: false,
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', IMMUTABLE),
  });
  app.get('/admin', { schema }, (_req, reply) => page(reply, 200, index));
  app.get('/admin/*', { schema }, (_req, reply) => page(reply, 200, index));

  const connectPath = join(root, 'connect.html');
  connectRoute(app, existsSync(connectPath) ? readFileSync(connectPath, 'utf8') : NOT_BUILT, opts.connectFrameAncestors);
}

/**
 * The hosted Connect page (connect.html: its own small bundle). Each request looks the token up
 * by hash, without spending it, for the origins that may frame the page; unknown, used or expired
 * tokens get 'none' (the page then shows why it cannot continue).
 */
function connectRoute(app: FastifyInstance, html: string, frameAncestors?: (token: string) => Promise<string[]>) {
  app.get('/connect/*', { schema: { hide: true } }, async (req, reply) => {
    const token = (req.params as { '*': string })['*'].split('/')[0] ?? '';
    const origins = frameAncestors && token.startsWith('khc_') ? await frameAncestors(token) : [];
    reply
      .code(html === NOT_BUILT ? 503 : 200)
      .header('content-type', 'text/html; charset=utf-8')
      // The page's address holds a single-use token: nothing keeps a copy.
      .header('cache-control', 'no-store')
      .header('content-security-policy', connectCsp(origins));
    if (origins.length === 0) reply.header('x-frame-options', 'DENY');
    return reply.send(html);
  });
}
