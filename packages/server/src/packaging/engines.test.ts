import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const json = (p: string) => JSON.parse(readFileSync(`${ROOT}${p}`, 'utf8'));

type Locked = { version?: string; engines?: { node?: string } | string[]; os?: string[]; cpu?: string[] };

/**
 * `npm install` warns (EBADENGINE) about every installed package whose `engines.node` the
 * running Node does not satisfy. The oldest Node the README promises must satisfy them all, so
 * a user on it sees no warning, and a dependency update that needs a newer Node fails here
 * (the remedy, a pin or an override, is recorded in docs/adr/0004-node-versions.md).
 */
describe('supported Node versions', () => {
  const floor = semver.minVersion(json('package.json').engines.node)!;

  it('every package in the lockfile installs without an engine warning on the oldest supported Node', () => {
    const lock = json('package-lock.json') as { packages: Record<string, Locked> };
    const needsNewer = Object.entries(lock.packages)
      // Platform builds for other systems are skipped by npm, never checked.
      .filter(([, p]) => (!p.os || p.os.includes(process.platform)) && (!p.cpu || p.cpu.includes(process.arch)))
      .flatMap(([name, p]) => {
        const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
        return range && !semver.satisfies(floor, range) ? [`${name.replace(/^.*node_modules\//, '')}@${p.version} needs Node ${range}`] : [];
      });
    expect(needsNewer).toEqual([]);
  });

  it('the README states the supported versions the package manifest and CI use', () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    expect(readme).toContain(`Node.js ${floor.major}.${floor.minor} or newer`);
    // .ci/run: `for line in 22 24; do … npx -y -p "node@$line" …`
    const ci = readFileSync(`${ROOT}.ci/run`, 'utf8');
    expect(ci).toContain('npx -y -p "node@$line" -- node node_modules/vitest/vitest.mjs run');
    const lines = ci.match(/for line in ([\d ]+); do/)?.[1]?.split(' ');
    expect(lines).toEqual(['22', '24']);
    expect(readme).toMatch(new RegExp(`Supported: Node ${floor.major}\\.${floor.minor}\\+[^.]*, ${lines?.slice(0, -1).join(', ')} and ${lines?.at(-1)}`));
  });
});
