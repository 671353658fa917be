import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNS = ['node-default', 'node-22', 'node-24'];

/**
 * CI's script only runs end to end on a clean clone, after half an hour of suites; a syntax
 * slip in its last step would throw all of that away. Parse it here, and run its summary on
 * reports shaped like vitest's.
 */
describe('.ci/run', () => {
  let dir = '';
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  const summarise = (reports: Record<string, object>) => {
    dir = mkdtempSync(join(tmpdir(), 'keyhold-ci-summary-'));
    for (const [name, body] of Object.entries(reports)) writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
    const r = spawnSync(process.execPath, [join(ROOT, '.ci/summary.cjs'), dir], { encoding: 'utf8' });
    return { status: r.status, lastLine: r.stdout.trim().split('\n').at(-1) };
  };

  it('parses as bash', () => {
    expect(() => execFileSync('bash', ['-n', join(ROOT, '.ci/run')], { stdio: 'pipe' })).not.toThrow();
  });

  it('sums the three runs and counts each tenant_id check as one test', () => {
    const reports: Record<string, object> = {};
    for (const run of RUNS) {
      reports[run] = { numTotalTests: 10, numPassedTests: 9, numFailedTests: 1 };
      reports[`${run}-predicates`] = { violations: run === 'node-24' ? [{ sql: 'select 1' }] : [] };
    }
    expect(summarise(reports)).toEqual({ status: 0, lastLine: '29 passed, 4 failed' });
  });

  it('fails when a run executed no test or its check did not report', () => {
    const reports: Record<string, object> = {
      'node-default': { numTotalTests: 3, numPassedTests: 3, numFailedTests: 0 },
      'node-default-predicates': { violations: [] },
      'node-22': { numTotalTests: 0, numPassedTests: 0, numFailedTests: 0 },
    };
    expect(summarise(reports)).toEqual({ status: 1, lastLine: '4 passed, 2 failed' });
  });
});
