import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const base = { NODE_ENV: 'test' } as NodeJS.ProcessEnv;
const clerk = {
  ...base,
  KEYHOLD_IDP_ISSUER: 'https://clerk.saas.example',
  KEYHOLD_IDP_JWKS_URL: 'https://clerk.saas.example/.well-known/jwks.json',
  KEYHOLD_IDP_AUDIENCE: 'keyhold',
};
const problems = (env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
};

describe('identity provider configuration', () => {
  it('is off without KEYHOLD_IDP_ISSUER, and on with issuer, key set and audience (defaults: RS256/ES256, org_id, org_role, email)', () => {
    expect(loadConfig(base).idp).toBeUndefined();
    expect(loadConfig(clerk).idp).toMatchObject({
      issuer: 'https://clerk.saas.example',
      audience: ['keyhold'],
      algorithms: ['RS256', 'ES256'],
      claims: { org: 'org_id', role: 'org_role', email: 'email' },
      orgMatch: 'external_id',
      roleMap: { owner: 'owner', admin: 'admin', member: 'member', viewer: 'viewer' },
      amrSatisfiesMfa: [],
    });
  });

  it('reads a role map and the amr values that satisfy step-up', () => {
    const idp = loadConfig({ ...clerk, KEYHOLD_IDP_ROLE_MAP: 'org:admin=admin, org:member=member', KEYHOLD_IDP_AMR_SATISFIES_MFA: 'mfa,otp' }).idp!;
    expect(idp.roleMap).toEqual({ 'org:admin': 'admin', 'org:member': 'member' });
    expect(idp.amrSatisfiesMfa).toEqual(['mfa', 'otp']);
  });

  it.each([
    ['none', { KEYHOLD_IDP_ALGORITHMS: 'none' }, /KEYHOLD_IDP_ALGORITHMS: use asymmetric algorithms only/],
    ['HMAC', { KEYHOLD_IDP_ALGORITHMS: 'RS256,HS256' }, /KEYHOLD_IDP_ALGORITHMS: use asymmetric algorithms only/],
    ["Keyhold's own issuer", { KEYHOLD_IDP_ISSUER: 'keyhold' }, /KEYHOLD_IDP_ISSUER: must not be 'keyhold'/],
    ['a role map naming no Keyhold role', { KEYHOLD_IDP_ROLE_MAP: 'org:admin=superuser' }, /KEYHOLD_IDP_ROLE_MAP: 'org:admin=superuser' is not/],
    ['a missing audience', { KEYHOLD_IDP_AUDIENCE: '' }, /KEYHOLD_IDP_AUDIENCE/],
  ])('refuses %s', (_name, over, message) => {
    expect(problems({ ...clerk, ...over }).join('\n')).toMatch(message);
  });

  it('refuses IdP settings without an issuer, and a key set over http in production', () => {
    expect(problems({ ...base, KEYHOLD_IDP_AUDIENCE: 'keyhold' })).toEqual(['KEYHOLD_IDP_ISSUER: required with KEYHOLD_IDP_AUDIENCE']);
    const prod = { ...clerk, NODE_ENV: 'production', KEYHOLD_IDP_JWKS_URL: 'http://clerk.saas.example/jwks' };
    expect(problems(prod)).toContain('KEYHOLD_IDP_JWKS_URL: must be https in production');
  });
});
