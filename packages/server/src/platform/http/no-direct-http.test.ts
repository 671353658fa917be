import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Files that may reach the network on their own, and why. Everything else sends provider traffic
 * through the injected ProviderHttp, so its timeouts and tenant-URL guard cannot be skipped.
 */
const ALLOWED: Record<string, string> = {
  'platform/http/provider-http.ts': 'the provider HTTP client itself',
  'platform/http/public-dispatcher.ts': "the tenant-URL dispatcher underneath it (an undici Agent; sends nothing by itself)",
};
/** Test harnesses drive Keyhold's own HTTP API and the sandbox, never a provider on a tenant's behalf. */
const ALLOWED_DIRS = ['test-support/'];

const NODE_HTTP = new Set(['node:http', 'node:https', 'http', 'https', 'node:http2', 'http2']);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Direct network calls in one file: imports of undici, value imports of node's HTTP clients, calls of the global fetch. */
function directHttp(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const at = (node: ts.Node) => `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const from = node.moduleSpecifier.text;
      const clause = node.importClause;
      const typeOnly = Boolean(clause?.isTypeOnly);
      if (from === 'undici') found.push(`${at(node)} imports undici`);
      else if (NODE_HTTP.has(from) && !typeOnly) {
        const bindings = clause?.namedBindings;
        const values = bindings && ts.isNamedImports(bindings) ? bindings.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text) : ['*'];
        if (clause?.name || values.some((v) => v === '*' || v === 'request' || v === 'get' || v === 'connect' || v === 'Agent')) found.push(`${at(node)} imports a client from ${from}`);
      }
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const global = ts.isIdentifier(callee) && callee.text === 'fetch';
      const viaGlobalThis = ts.isPropertyAccessExpression(callee) && callee.name.text === 'fetch' && ts.isIdentifier(callee.expression) && ['globalThis', 'global', 'window', 'self'].includes(callee.expression.text);
      if (global || viaGlobalThis) found.push(`${at(node)} calls the global fetch`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('provider traffic goes through the injected ProviderHttp', () => {
  it('no server source file imports undici or node:http(s) clients, or calls the global fetch, outside the allowed list', () => {
    const offending = sourceFiles(SRC)
      .map((file) => path.relative(SRC, file).split(path.sep).join('/'))
      .filter((rel) => !(rel in ALLOWED) && !ALLOWED_DIRS.some((dir) => rel.startsWith(dir)))
      .flatMap((rel) => directHttp(rel, readFileSync(path.join(SRC, rel), 'utf8')));
    expect(offending).toEqual([]);
  });

  it('every allowed file still exists (a stale entry would hide nothing but mislead)', () => {
    const files = new Set(sourceFiles(SRC).map((file) => path.relative(SRC, file).split(path.sep).join('/')));
    for (const rel of Object.keys(ALLOWED)) expect(files.has(rel), rel).toBe(true);
  });

  it('the check sees each way around the client, and not a method merely named fetch', () => {
    const sample = [
      "import { request } from 'undici';",
      "import type { Dispatcher } from 'undici';",
      "import { request as r2 } from 'node:https';",
      "import type { IncomingHttpHeaders } from 'node:http';",
      "import { STATUS_CODES } from 'node:http';",
      'await fetch(url);',
      'await globalThis.fetch(url);',
      'await deps.http.fetch(url);',
      'const clients = { async fetch(tenantId: string) { return tenantId; } };',
    ].join('\n');
    expect(directHttp('sample.ts', sample)).toEqual([
      'sample.ts:1 imports undici',
      'sample.ts:2 imports undici',
      'sample.ts:3 imports a client from node:https',
      'sample.ts:6 calls the global fetch',
      'sample.ts:7 calls the global fetch',
    ]);
  });
});
