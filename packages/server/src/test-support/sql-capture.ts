import { appendFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/**
 * Records every statement Keyhold's own code sends to Postgres in this test worker, for the
 * tenant_id predicate check the global teardown runs over the whole suite (tenant-predicates.ts).
 * A statement a test file writes itself (reading rows to assert on them) is not Keyhold's and is
 * left out, as are migrations: the innermost source frame of the call decides. Statements of server processes a test
 * starts (the built dist) are not seen here.
 */
type Capture = { app: Set<string>; written: Set<string> };
const KEY = Symbol.for('keyhold.sqlCapture');
const holder = globalThis as typeof globalThis & { [KEY]?: Capture };

const SOURCE = /\/packages\/[^/]+\/src\/[^)\s]+\.ts/;
/** A test's own reads, and migrations (run once, by the migrator, on the coordinator). */
const notChecked = (file: string) => file.endsWith('.test.ts') || file.includes('/test-support/') || file.endsWith('/platform/db/migrate.ts');

function issuedByKeyhold(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n')) {
    if (line.includes('node_modules') || line.includes('sql-capture.ts')) continue;
    const file = SOURCE.exec(line)?.[0];
    if (file) return !notChecked(file);
  }
  return true;
}

if (!holder[KEY]) {
  const capture: Capture = { app: new Set(), written: new Set() };
  holder[KEY] = capture;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    if (text && !capture.app.has(text) && issuedByKeyhold()) capture.app.add(text);
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

afterAll(() => {
  const capture = holder[KEY]!;
  const fresh = [...capture.app].filter((s) => !capture.written.has(s));
  if (fresh.length === 0) return;
  appendFileSync(path.join(inject('sqlLogDir'), `${process.pid}.jsonl`), `${fresh.map((s) => JSON.stringify(s)).join('\n')}\n`);
  for (const s of fresh) capture.written.add(s);
});
