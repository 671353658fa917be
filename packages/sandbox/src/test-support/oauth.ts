import { createHash, randomBytes } from 'node:crypto';
import type { Sandbox } from '../server.js';
import type { OAuthApp } from '../oauth/index.js';

export const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Follows a consent URL the way a browser would, returning the 302 and its callback query. */
export async function consent(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  return { res, location, query: location ? Object.fromEntries(new URL(location).searchParams) : {} };
}

export const form = (url: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params) });

/** Xero's app, consent and token calls, which most tests drive. */
export function xero(sandbox: Sandbox, app: OAuthApp = { clientId: `xero-${randomBytes(4).toString('hex')}`, clientSecret: 'xero-secret', redirectUri: 'https://keyhold.test/api/integrations/xero/callback' }) {
  sandbox.oauth.registerApp('xero', app);
  const base = `${sandbox.url}/xero`;
  const auth = { authorization: basic(app.clientId, app.clientSecret) };
  const authorizeUrl = (extra: Record<string, string> = {}) => {
    const q = new URLSearchParams({ response_type: 'code', client_id: app.clientId, redirect_uri: app.redirectUri, scope: 'offline_access accounting.invoices.read', state: 'st', ...extra });
    return `${base}/identity/connect/authorize?${q}`;
  };
  const exchange = (code: string, extra: Record<string, string> = {}) =>
    form(`${base}/connect/token`, { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, ...extra }, auth);
  return {
    app,
    authorizeUrl,
    exchange,
    refresh: (refreshToken: string) => form(`${base}/connect/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, auth),
    revoke: (token: string) => form(`${base}/connect/revocation`, { token }, auth),
    connections: (accessToken: string) => fetch(`${base}/connections`, { headers: { authorization: `Bearer ${accessToken}` } }),
    /** A full consent + code exchange; returns the token response. */
    async connect(extra: Record<string, string> = {}) {
      const { query } = await consent(authorizeUrl(extra));
      const res = await exchange(query.code!);
      return (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
    },
  };
}
