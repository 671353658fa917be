import { successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { CATEGORIES, type Catalog, type CatalogField, type Provider } from './catalog.js';
import { AUTH_MODES, CatalogFieldSchema } from './catalog.schema.js';

/** A catalog field as a form shows it: `required` spelled out, `destination` left to the server. */
const FieldSchema = CatalogFieldSchema.omit({ destination: true }).extend({ required: z.boolean() });

/** What a UI or SDK needs to render a connect form; no credential and no OAuth client data. */
export const ProviderSchema = z.object({
  id: z.string(),
  displayName: z.string(),
  category: z.enum(CATEGORIES),
  description: z.string().optional(),
  docsUrl: z.string().optional(),
  docs: z.string().describe("Keyhold's guide to this provider, relative to the repository root"),
  reviewedAt: z.string().describe('The day the guide and catalog entry were last checked against the provider\'s documentation (YYYY-MM-DD)'),
  authMode: z.enum(AUTH_MODES),
  credentialFields: z.array(FieldSchema),
  configFields: z.array(FieldSchema),
  canTestConnection: z.boolean(),
  rateLimits: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  webhooks: z.boolean(),
});

/** A provider as forms show it (ProviderSchema): what it needs, never a credential or OAuth app data. */
export function providerView(p: Provider): z.infer<typeof ProviderSchema> {
  const field = ({ destination: _, ...f }: CatalogField) => ({ ...f, required: f.required ?? true });
  return {
    id: p.id,
    displayName: p.displayName,
    category: p.category,
    ...(p.description ? { description: p.description } : {}),
    ...(p.docsUrl ? { docsUrl: p.docsUrl } : {}),
    docs: p.docs,
    reviewedAt: p.reviewedAt,
    authMode: p.authMode,
    credentialFields: p.credentialFields.map(field),
    configFields: (p.configFields ?? []).map(field),
    canTestConnection: p.verify !== undefined,
    // The connection-wide figures; per-operation limits and per-connection overrides stay server-side.
    ...(p.rateLimits ? { rateLimits: (({ operations: _o, fromConfig: _f, ...figures }) => figures)(p.rateLimits) } : {}),
    webhooks: p.webhooks !== undefined,
  };
}

export function catalogRoutes(app: FastifyInstance, { catalog }: { catalog: Catalog }) {
  app.withTypeProvider<ZodTypeProvider>().get('/api/providers', {
    schema: {
      tags: ['providers'],
      summary: 'The provider catalog: what each provider needs to connect',
      response: { 200: successEnvelope(z.object({ categories: z.array(z.enum(CATEGORIES)), providers: z.array(ProviderSchema) })) },
    },
  }, async () => {
    const providers = catalog.list().map(providerView);
    return ok({ categories: CATEGORIES.filter((c) => providers.some((p) => p.category === c)), providers });
  });
}
