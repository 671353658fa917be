import { createHash, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import { uuidFrom } from '../oauth/ids.js';

/**
 * Xero Identity is an OpenID Connect provider: a discovery document at
 * https://identity.xero.com/.well-known/openid-configuration, its keys at `jwks_uri`, and an
 * RS256 `id_token` in the token answer when `openid` was granted (claims: xero_userid,
 * global_session_id, preferred_username, email, given_name, family_name).
 * https://developer.xero.com/documentation/guides/oauth2/sign-in/ ,
 * https://developer.xero.com/documentation/guides/oauth2/auth-flow/ (token response with id_token).
 * xero-node discovers from that issuer before anything else and checks the id_token with it.
 */
export const XERO_ISSUER = 'https://identity.xero.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32).toUpperCase();

/** Hosts of Xero's own URLs: a client whose hosts are fixed reaches the sandbox with these Host headers. */
export const XERO_HOSTS = ['identity.xero.com', 'login.xero.com', 'api.xero.com'];

/** Real Xero URLs when reached under Xero's own host names, else the sandbox's `/xero` prefix. */
function endpoints(req: IncomingMessage) {
  const host = String(req.headers.host ?? '');
  if (XERO_HOSTS.includes(host)) return { identity: 'https://identity.xero.com', login: 'https://login.xero.com' };
  const base = `http://${host}/xero`;
  return { identity: base, login: base };
}

export function discovery(req: IncomingMessage): Reply {
  const e = endpoints(req);
  return {
    status: 200,
    body: {
      issuer: XERO_ISSUER,
      jwks_uri: `${e.identity}/.well-known/openid-configuration/jwks`,
      authorization_endpoint: `${e.login}/identity/connect/authorize`,
      token_endpoint: `${e.identity}/connect/token`,
      userinfo_endpoint: `${e.identity}/connect/userinfo`,
      revocation_endpoint: `${e.identity}/connect/revocation`,
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      claims_supported: ['sub', 'xero_userid', 'global_session_id', 'preferred_username', 'email', 'given_name', 'family_name'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
      response_types_supported: ['code'],
      response_modes_supported: ['form_post', 'query', 'fragment'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['plain', 'S256'],
    },
  };
}

export function jwks(): Reply {
  return { status: 200, body: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, use: 'sig', alg: 'RS256' }] } };
}

const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

/** The id_token of one token answer; `sub` and the user ids are stable per consenting account. */
export function xeroIdToken(p: { clientId: string; account: string; accessToken: string; scope: string; authTime: number; now: number }): string {
  const scopes = p.scope.split(' ');
  const userId = uuidFrom(createHash('sha256').update(`xero-user\0${p.account}`).digest());
  const iat = Math.floor(p.now / 1000);
  const hash = createHash('sha256').update(p.accessToken).digest();
  const claims = {
    nbf: iat, exp: iat + 300, iss: XERO_ISSUER, aud: p.clientId, iat,
    at_hash: b64url(hash.subarray(0, hash.length / 2)),
    sid: randomUUID().replaceAll('-', ''), sub: userId.replaceAll('-', ''), auth_time: Math.floor(p.authTime / 1000),
    xero_userid: userId, global_session_id: randomUUID().replaceAll('-', ''),
    ...(scopes.includes('email') ? { preferred_username: `${p.account}@example.com`, email: `${p.account}@example.com` } : {}),
    ...(scopes.includes('profile') ? { given_name: 'Sandbox', family_name: p.account } : {}),
  };
  const input = `${b64url(JSON.stringify({ alg: 'RS256', kid: KID, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(privateKey))}`;
}
