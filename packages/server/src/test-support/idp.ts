import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { IdpConfig } from '../platform/idp-config.js';

export const IDP_AUDIENCE = 'https://keyhold.test/api';

/** Claims the IdP adds to one user's access tokens (the SaaS's JWT template). */
export type TemplateClaims = Record<string, unknown>;

type SigningKey = { kid: string; privateJwk: JWK; privateKey: CryptoKey; publicJwk: JWK };

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `k-${randomBytes(4).toString('hex')}`;
  return { kid, privateKey, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' }, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * A real OpenID provider (oidc-provider) issuing JWT access tokens for Keyhold's audience. Each
 * user is a client of the client-credentials grant (the token's `sub` is its client id), so a
 * test gets a token with one HTTP call; `claims` plays the SaaS's JWT template. `rotate()`
 * replaces the signing key: the JWKS then lists only the new key, as after a real rotation.
 */
export async function startTestIdp(users: readonly string[]) {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secretOf = (user: string) => `secret-${user}-0123456789abcdef`;
  const claims = new Map<string, TemplateClaims>();
  let jwksFetches = 0;
  let key = await newKey();
  let handler: (req: IncomingMessage, res: ServerResponse) => void;

  const build = (k: SigningKey) => {
    const provider = new Provider(issuer, {
      clients: users.map((u) => ({ client_id: u, client_secret: secretOf(u), grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_post' })),
      jwks: { keys: [k.privateJwk] },
      features: {
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => IDP_AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'api', audience: IDP_AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
        },
        devInteractions: { enabled: false },
      },
      scopes: ['api'],
      ttl: { ClientCredentials: 300 },
      extraTokenClaims: async (_ctx, token) => claims.get(String(token.clientId)) ?? {},
    });
    const callback = provider.callback();
    return (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/jwks') jwksFetches++;
      callback(req, res);
    };
  };
  handler = build(key);
  server.on('request', (req, res) => handler(req, res));

  /** An access token for `user` as the IdP issues it now. */
  async function token(user: string): Promise<string> {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: user, client_secret: secretOf(user), scope: 'api', resource: IDP_AUDIENCE }).toString(),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!res.ok || !body.access_token) throw new Error(`token for ${user}: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  }

  return {
    issuer,
    claims,
    token,
    /** The key tokens are signed with now (tests forge tokens with it that differ in one respect). */
    currentKey: () => key,
    jwksFetches: () => jwksFetches,
    async rotate() {
      key = await newKey();
      handler = build(key);
    },
    /** Keyhold's settings for this IdP (tests override what they exercise). */
    config: (over: Partial<IdpConfig> = {}): IdpConfig => ({
      issuer,
      jwksUrl: `${issuer}/jwks`,
      audience: [IDP_AUDIENCE],
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 5,
      maxTokenAgeSeconds: 86_400,
      jwks: { cooldownSeconds: 0, cacheSeconds: 600, timeoutMs: 5000 },
      claims: { org: 'org_id', role: 'org_role', email: 'email' },
      orgMatch: 'external_id',
      roleMap: { 'org:admin': 'admin', 'org:member': 'member', 'org:owner': 'owner', 'org:viewer': 'viewer' },
      amrSatisfiesMfa: ['mfa'],
      mfaMaxAgeSeconds: 300,
      ...over,
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type TestIdp = Awaited<ReturnType<typeof startTestIdp>>;
