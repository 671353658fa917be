import { type Provider, placeholdersOf } from './catalog.js';

const referenced = (template: string | undefined) => placeholdersOf(template ?? '');

/**
 * The config fields that decide where, or how, a connection's secrets are sent: every field the
 * base URL, the OAuth URLs, the verify request or the credential injection (header names and
 * values, HTTP Basic) refer to, and fields the catalog marks `destination: true` (used by code,
 * such as a tenant-defined API's verify path). Changing one is as sensitive as rotating the secret.
 */
export function destinationFields(p: Provider): Set<string> {
  const configNames = new Set((p.configFields ?? []).map((f) => f.name));
  const names = new Set<string>([
    ...referenced(p.baseUrl),
    ...referenced(p.verify?.path),
    ...referenced(p.oauth?.authorizeUrl),
    ...referenced(p.oauth?.tokenUrl),
    ...referenced(p.oauth?.revokeUrl),
    ...Object.entries(p.inject.headers ?? {}).flatMap(([name, value]) => [...referenced(name), ...referenced(value)]),
    ...referenced(p.inject.basicAuth?.username),
    ...referenced(p.inject.basicAuth?.password),
    ...(p.configFields ?? []).filter((f) => f.destination).map((f) => f.name),
  ]);
  return new Set([...names].filter((n) => configNames.has(n)));
}
