import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../domains/catalog/catalog.js';

const DOMAINS = fileURLToPath(new URL('../domains', import.meta.url));

/** The catalog's loader may point at a provider file in an error message; nothing else in domains/ names one. */
const ALLOWED = [/^catalog\/catalog\.ts$/];
/**
 * Ordinary words that equal a provider id: oauth4webapi's `customFetch`, zod's issue code
 * `'custom'`, and the catalog category "Custom" (a category, capitalised, not the provider).
 */
const LIBRARY_NAMES = [/\bcustomFetch\b/g, /code: 'custom'/g, /'Custom'(?=\] as const)/g];
/** Companies behind a catalog provider whose name is neither its id nor its display name. */
const MAKERS = ['intuit'];

/** Every way code or prose may name a provider: its id, the id's first word, the display name's first word. */
function providerNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const p of loadCatalog().list()) {
    for (const n of [p.id, p.id.split('-')[0]!, p.displayName.split(' ')[0]!]) names.set(n.toLowerCase(), p.id);
  }
  for (const m of MAKERS) names.set(m, m);
  return names;
}

/**
 * A name counts where it stands as a word: in a string, a comment or an identifier, at a
 * camelCase/snake_case/kebab boundary (`'shopify'`, `flow === "xero"`, `verifyShopifyHmac`,
 * `hmac_unleashed`, `amazonSpApi`), never inside another word (`otherwise`, `demux`).
 */
export function namedProviders(source: string, names: Map<string, string>): Array<{ line: number; name: string; text: string }> {
  const hits: Array<{ line: number; name: string; text: string }> = [];
  const patterns = [...names.keys()].map((n) => ({ n, re: new RegExp(n.split('-').map((part) => part.replace(/[^a-z0-9]/g, '')).join('[-_ ]?'), 'gi') }));
  source.split('\n').forEach((raw, i) => {
    const text = LIBRARY_NAMES.reduce((t, re) => t.replace(re, ''), raw);
    for (const { n, re } of patterns) {
      for (const m of text.matchAll(re)) {
        const before = text[m.index - 1] ?? '';
        const after = text[m.index + m[0].length] ?? '';
        const starts = !/[A-Za-z0-9]/.test(before) || (/[a-z0-9]/.test(before) && /[A-Z]/.test(m[0][0]!));
        const ends = !/[a-z]/.test(after);
        if (starts && ends) hits.push({ line: i + 1, name: n, text: raw.trim() });
      }
    }
  });
  return hits;
}

function domainSources(dir = DOMAINS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return domainSources(full);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('generic domains never name a provider', () => {
  const names = providerNames();

  it('no file under domains/ (tests aside) names a catalog provider, in code or comments', () => {
    const offenders: string[] = [];
    const files = domainSources();
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) {
      const rel = path.relative(DOMAINS, file).split(path.sep).join('/');
      if (ALLOWED.some((re) => re.test(rel))) continue;
      for (const hit of namedProviders(readFileSync(file, 'utf8'), names)) offenders.push(`domains/${rel}:${hit.line} names '${hit.name}': ${hit.text}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the scan finds a provider named in every form, and not inside other words', () => {
    const planted = [
      "if (provider.oauth?.flow === 'shopify') {",
      'const ok = verifyShopifyCallback(query);',
      '// Xero keeps the old refresh token valid for 30 min',
      "authMode: 'hmac_unleashed',",
      'const a = amazonSpApi;',
      'const url = "https://amazon-sp-api.example";',
      "// Intuit's revocation endpoint takes JSON",
      'const t = QUICKBOOKS_TIMEOUT;',
      'export const OpenAIClient = 1;',
    ];
    const found = planted.map((line) => namedProviders(line, names).map((h) => h.name));
    expect(found).toEqual([['shopify'], ['shopify'], ['xero'], ['unleashed'], ['amazon-sp-api', 'amazon'], ['amazon-sp-api', 'amazon'], ['intuit'], ['quickbooks'], ['openai']]);
    const innocent = ['otherwise likewise', 'demux the streams', 'a customer record', 'oauth.customFetch', 'slacken', 'stripes'];
    expect(innocent.flatMap((line) => namedProviders(line, names))).toEqual([]);
  });
});
