// One Keyhold node for multi-process refresh tests and bench/refresh: built services (dist/) on a
// shared database, OAuth providers pointed at a sandbox. Modes:
//   sweep — run background sweeps until nothing is left to claim;
//   use   — read each listed connection's credentials like business code (refreshing on demand)
//           and call the provider with the token.
// Input: one JSON argument; output: one JSON line of figures on stdout.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServices } from '../dist/deps.js';
import { loadCatalog } from '../dist/domains/catalog/catalog.js';
import { keyRing, parseMasterKeys } from '../dist/domains/vault/kek.js';
import { systemClock } from '../dist/platform/clock.js';
import { Secret } from '../dist/platform/crypto/secret.js';
import { createDb } from '../dist/platform/db/database.js';
import { createLogger } from '../dist/platform/logger.js';

const input = JSON.parse(process.argv[2]);
const log = createLogger({ level: process.env.WORKER_LOG ?? 'warn', destination: process.stderr });
const db = createDb({ url: input.appUrl, poolMax: input.poolMax ?? 10, log });
const providers = Object.keys(input.apps);
const services = createServices({
  db,
  clock: systemClock,
  keys: { tenantKey: randomBytes(32), platformKey: randomBytes(32) },
  ring: keyRing(parseMasterKeys(input.masterKeys, 'worker')),
  catalog: loadCatalog({
    baseUrlOverrides: Object.fromEntries(providers.map((p) => [p, `${input.sandboxUrl}/${p}`])),
    authUrlOverrides: Object.fromEntries(providers.map((p) => [p, `${input.sandboxUrl}/${p}`])),
  }),
  oauthApps: Object.fromEntries(Object.entries(input.apps).map(([p, a]) => [p, { clientId: a.clientId, clientSecret: new Secret(a.clientSecret) }])),
  log,
});

const started = performance.now();
const cpuAtStart = process.cpuUsage();
const out = { mode: input.mode, pid: process.pid };
try {
  if (input.mode === 'sweep') {
    const totals = { claimed: 0, refreshed: 0, failed: 0, writes: 0 };
    for (;;) {
      const s = await services.tokens.sweep({ batch: input.batch ?? 200, concurrency: input.concurrency ?? 16 });
      for (const k of Object.keys(totals)) totals[k] += s[k];
      if (s.claimed === 0) break;
    }
    Object.assign(out, totals);
  } else {
    const conns = JSON.parse(readFileSync(input.connectionsFile, 'utf8'));
    // Every worker walks the list in its own order, so they collide on the same connections.
    for (let i = conns.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [conns[i], conns[j]] = [conns[j], conns[i]];
    }
    let ok = 0;
    let rejected = 0;
    let next = 0;
    const one = async () => {
      while (next < conns.length) {
        const c = conns[next++];
        const principal = { tenantId: c.tenantId, role: 'admin', scopes: ['credentials:read'], actor: { type: 'api_key', id: 'refresh-worker' } };
        const read = await services.connections.readForMachine(principal, c.provider, c.label);
        const res = await fetch(`${input.sandboxUrl}/${c.provider}${input.usePath}`, { headers: { authorization: `Bearer ${read.credentials.accessToken}` } });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else rejected++;
      }
    };
    await Promise.all(Array.from({ length: input.concurrency ?? 16 }, one));
    Object.assign(out, { used: ok, rejected });
  }
} finally {
  out.ms = Math.round(performance.now() - started);
  const cpu = process.cpuUsage(cpuAtStart);
  out.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  await db.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
