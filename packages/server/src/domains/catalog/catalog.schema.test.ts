import { readFileSync } from 'node:fs';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { GENERATE_COMMAND, catalogArtifacts } from './artifacts.js';
import { CATALOG_DIR, loadCatalog } from './catalog.js';
import { AUTH_MODES, CatalogEntrySchema, INJECT_SCHEMES, OAUTH_FLOWS, type Provider, REVOKE_FORMATS, WEBHOOK_SCHEMES } from './catalog.schema.js';

const REPO = path.resolve(CATALOG_DIR, '../../..');

/** A catalog copy holding one extra entry, `broken.yaml`, built from a valid OAuth entry plus `extra`. */
async function catalogWith(extra: { top?: string; field?: string; oauth?: string; inject?: string }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'keyhold-catalog-'));
  await cp(CATALOG_DIR, dir, { recursive: true });
  await writeFile(path.join(dir, 'providers', 'broken.yaml'), [
    'id: broken', 'displayName: Broken', 'category: Accounting', 'docs: docs/providers/broken.md', 'reviewedAt: 2026-11-27', 'authMode: oauth2', 'baseUrl: https://api.example.com',
    'credentialFields:', `  - { name: accessToken, label: Token, secret: true${extra.field ?? ''} }`,
    'configFields:', '  - { name: accountId, label: Account, secret: false }',
    `inject: { headers: { Authorization: 'Bearer {{accessToken}}' }${extra.inject ?? ''} }`,
    'oauth:', '  authorizeUrl: https://example.com/authorize', '  tokenUrl: https://example.com/token', '  scopes: [read]', '  routingKeyField: accountId',
    ...(extra.oauth ? [`  ${extra.oauth}`] : []),
    ...(extra.top ? [extra.top] : []),
    '',
  ].join('\n'));
  return dir;
}

describe('catalog schema', () => {
  it('accepts the valid base entry the refusal cases below start from', async () => {
    expect(loadCatalog({ dir: await catalogWith({}) }).get('broken').oauth?.routingKeyField).toBe('accountId');
  });

  it('refuses unknown keys and values outside the enums, naming the file and the path inside it', async () => {
    const cases: Array<[Parameters<typeof catalogWith>[0], RegExp]> = [
      [{ top: 'colour: blue' }, /broken\.yaml: Unrecognized key: "colour"/],
      [{ field: ', secrt: true' }, /broken\.yaml: credentialFields\[0\]: Unrecognized key: "secrt"/],
      [{ oauth: 'flow: github' }, /broken\.yaml: oauth\.flow: Invalid option/],
      [{ oauth: 'revokeFormat: xml' }, /broken\.yaml: oauth\.revokeFormat: Invalid option/],
      [{ inject: ', scheme: aws_sigv4' }, /broken\.yaml: inject\.scheme: Invalid input: expected "unleashed_hmac"/],
      [{ top: 'webhooks: { scheme: github_sha256, routingKey: endpoint }' }, /broken\.yaml: webhooks\.scheme: Invalid option/],
      [{ top: 'webhooks: { scheme: stripe_signature, routingKey: "$.data" }' }, /broken\.yaml: webhooks\.routingKey: /],
      // Removed: nothing read them. Their information lives in refreshNotes.
      [{ oauth: 'refreshTokenGraceSeconds: 0' }, /broken\.yaml: oauth: Unrecognized key: "refreshTokenGraceSeconds"/],
      [{ oauth: 'accessTokenTtlSeconds: 3600' }, /broken\.yaml: oauth: Unrecognized key: "accessTokenTtlSeconds"/],
      [{ field: ", pattern: '^(unclosed'" }, /broken\.yaml: credentialFields\[0\]\.pattern: is not a valid regular expression/],
    ];
    for (const [extra, problem] of cases) {
      const dir = await catalogWith(extra);
      expect(() => loadCatalog({ dir }), JSON.stringify(extra)).toThrow(problem);
    }
  });

  it('a default belongs to non-secret config only, and a client-overridable header carries no secret', async () => {
    const cases: Array<[Parameters<typeof catalogWith>[0], RegExp]> = [
      [{ field: ', default: x' }, /broken\.yaml: credentialFields\[0\]\.default: only non-secret config fields may have a default/],
      [{ inject: ", defaultHeaders: { X-Version: '{{accessToken}}' }" }, /broken\.yaml: inject\.defaultHeaders 'X-Version' may only name non-secret config fields, not 'accessToken'/],
    ];
    for (const [extra, problem] of cases) {
      const dir = await catalogWith(extra);
      expect(() => loadCatalog({ dir }), JSON.stringify(extra)).toThrow(problem);
    }
  });

  it('refuses a routing key field that is not a non-secret config field', async () => {
    const dir = await catalogWith({});
    const file = path.join(dir, 'providers', 'broken.yaml');
    const entry = readFileSync(file, 'utf8');
    for (const key of ['accessToken', 'acountId']) {
      await writeFile(file, entry.replace('routingKeyField: accountId', `routingKeyField: ${key}`));
      expect(() => loadCatalog({ dir })).toThrow(new RegExp(`broken\\.yaml: oauth\\.routingKeyField: '${key}' is not a non-secret config field`));
    }
  });

  it('refuses an entry without its own guide or a real review date', async () => {
    const dir = await catalogWith({});
    const file = path.join(dir, 'providers', 'broken.yaml');
    const entry = readFileSync(file, 'utf8');
    const cases: Array<[string, RegExp]> = [
      [entry.replace('docs: docs/providers/broken.md\n', ''), /broken\.yaml: docs: Invalid input/],
      [entry.replace('docs/providers/broken.md', 'docs/providers/xero.md'), /broken\.yaml: docs: must be docs\/providers\/broken\.md/],
      [entry.replace('docs/providers/broken.md', 'https://example.com/broken.md'), /broken\.yaml: docs: /],
      [entry.replace('reviewedAt: 2026-11-27\n', ''), /broken\.yaml: reviewedAt: Invalid input/],
      [entry.replace('reviewedAt: 2026-11-27', 'reviewedAt: 2026-13-01'), /broken\.yaml: reviewedAt: Invalid ISO date/],
      [entry.replace('reviewedAt: 2026-11-27', 'reviewedAt: last week'), /broken\.yaml: reviewedAt: Invalid ISO date/],
    ];
    for (const [text, problem] of cases) {
      await writeFile(file, text);
      expect(() => loadCatalog({ dir }), String(problem)).toThrow(problem);
    }
  });

  it('keeps the generated files in step with the schema and the entries', () => {
    for (const { file, content } of catalogArtifacts()) {
      const name = path.relative(REPO, file);
      expect.soft(readFileSync(file, 'utf8'), `${name} is stale: run \`${GENERATE_COMMAND}\``).toBe(content);
    }
  });

  it('generates a JSON schema with the same objects and keys as the zod schema', () => {
    const json = JSON.parse(readFileSync(path.join(CATALOG_DIR, 'provider.schema.json'), 'utf8'));
    expect(json.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const resolve = (s: { $ref?: string }) => (s.$ref ? json.definitions[s.$ref.replace('#/definitions/', '')] : s);
    const compare = (schema: z.ZodType, js: Record<string, any>, where: string) => {
      const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
      const node = resolve(js);
      if (inner instanceof z.ZodArray) return compare(inner.element as z.ZodType, node.items, `${where}[]`);
      if (!(inner instanceof z.ZodObject)) return;
      expect(Object.keys(node.properties ?? {}).sort(), where).toEqual(Object.keys(inner.shape).sort());
      expect(node.additionalProperties, `${where} refuses unknown keys`).toBe(false);
      for (const [key, child] of Object.entries(inner.shape)) compare(child as z.ZodType, node.properties[key], `${where}.${key}`);
    };
    compare(CatalogEntrySchema, json, 'entry');
    expect(json.required.sort()).toEqual(Object.entries(CatalogEntrySchema.shape).filter(([, s]) => !(s instanceof z.ZodOptional)).map(([k]) => k).sort());
  });

  it('types every catalog enum from the schema (no free-form strings)', () => {
    expectTypeOf<Provider['authMode']>().toEqualTypeOf<(typeof AUTH_MODES)[number]>();
    expectTypeOf<NonNullable<Provider['inject']['scheme']>>().toEqualTypeOf<(typeof INJECT_SCHEMES)[number]>();
    expectTypeOf<NonNullable<NonNullable<Provider['oauth']>['flow']>>().toEqualTypeOf<(typeof OAUTH_FLOWS)[number]>();
    expectTypeOf<NonNullable<NonNullable<Provider['oauth']>['revokeFormat']>>().toEqualTypeOf<(typeof REVOKE_FORMATS)[number]>();
    expectTypeOf<NonNullable<Provider['webhooks']>['scheme']>().toEqualTypeOf<(typeof WEBHOOK_SCHEMES)[number]>();
    // Every scheme the schema allows is used by some entry: the list is what the catalog needs, no more.
    const used = new Set(loadCatalog().list().flatMap((p) => (p.webhooks ? [p.webhooks.scheme] : [])));
    expect([...used].sort()).toEqual([...WEBHOOK_SCHEMES].sort());
  });
});
