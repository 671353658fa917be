import { PROVIDER_FIELDS } from './provider-fields.generated.js';

/**
 * Credential and config field names of each catalog provider (true = required), generated from
 * packages/server/catalog/providers/*.yaml by `npm run catalog:generate`; a server test fails when
 * the generated file is stale.
 */
export { PROVIDER_FIELDS };

export type ProviderId = keyof typeof PROVIDER_FIELDS;

type Fields<F> = { [K in keyof F as F[K] extends true ? K : never]: string } & { [K in keyof F as F[K] extends true ? never : K]?: string };

/** The plaintext credential fields of a provider's connection, by catalog name. */
export type ProviderCredentials<P extends ProviderId> = Fields<(typeof PROVIDER_FIELDS)[P]['credentials']>;
/** The non-secret config fields of a provider's connection. */
export type ProviderConfig<P extends ProviderId> = Fields<(typeof PROVIDER_FIELDS)[P]['config']>;
