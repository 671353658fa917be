import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CATALOG_DIR, type Catalog, loadCatalog } from './catalog.js';
import { CatalogEntrySchema, CatalogFieldSchema } from './catalog.schema.js';

/*
 * Files derived from the catalog schema and entries, written by `npm run catalog:generate` and
 * checked by a test, so the editor schema and the SDK's field types cannot drift from the loader.
 */

export const GENERATE_COMMAND = 'npm run catalog:generate';
const PACKAGES_DIR = fileURLToPath(new URL('../../../../', import.meta.url));

export type Artifact = { file: string; content: string };

/** The JSON schema YAML editors use for `catalog/providers/*.yaml` (draft-07, which they all read). */
export function providerJsonSchema(): string {
  // Ids live in a registry of their own so no route's OpenAPI schema picks them up from the global one.
  const ids = z.registry<{ id: string }>();
  ids.add(CatalogEntrySchema, { id: 'provider' });
  ids.add(CatalogFieldSchema, { id: 'field' });
  const { schemas } = z.toJSONSchema(ids, {
    target: 'draft-7',
    io: 'input',
    metadata: z.globalRegistry,
    uri: (id) => `#/definitions/${id}`,
    // An integer is bounded to the safe range by default; an editor needs only the bounds we set.
    override: ({ jsonSchema }) => {
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  const { $schema, $id: _provider, title, ...provider } = schemas.provider!;
  const { $schema: _s, $id: _field, ...field } = schemas.field!;
  const document = {
    $schema,
    $id: 'https://keyhold.dev/schemas/provider.json',
    $comment: `Generated from packages/server/src/domains/catalog/catalog.schema.ts by \`${GENERATE_COMMAND}\`; do not edit.`,
    title,
    ...provider,
    definitions: { field },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The contract's per-provider field names (true = required), which type the SDK's credentials. */
export function providerFieldsModule(catalog: Catalog): string {
  const names = (fields: Array<{ name: string; required?: boolean | undefined }>) =>
    `{${fields.map((f) => ` ${f.name}: ${f.required !== false}`).join(',')}${fields.length ? ' ' : ''}}`;
  const lines = [...catalog.list()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((p) => `  '${p.id}': { credentials: ${names(p.credentialFields)}, config: ${names(p.configFields ?? [])} },`);
  return [
    `// Generated from packages/server/catalog/providers/*.yaml by \`${GENERATE_COMMAND}\`; do not edit.`,
    '',
    '/** Credential and config field names of each catalog provider (true = required). */',
    'export const PROVIDER_FIELDS = {',
    ...lines,
    '} as const;',
    '',
  ].join('\n');
}

/** Every generated file with the content the current schema and entries give. */
export function catalogArtifacts(): Artifact[] {
  return [
    { file: path.join(CATALOG_DIR, 'provider.schema.json'), content: providerJsonSchema() },
    { file: path.join(PACKAGES_DIR, 'contract', 'src', 'provider-fields.generated.ts'), content: providerFieldsModule(loadCatalog()) },
  ];
}
