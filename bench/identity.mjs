// Identity benchmark: argon2id hashing cost and sign-in throughput, each against a baseline
// measured side by side (SHA-256 for hashing, GET /health on the same server for HTTP).
// Run: npm run bench:identity   (builds first)
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fmt, load, report, startKeyholdForBench } from './lib.mjs';

const { hashPassword, verifyPassword } = await import(new URL('../packages/server/dist/domains/identity/passwords.js', import.meta.url).href);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

async function timeEach(n, fn) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t0) / n;
}

console.log('# argon2id (m=19 MiB, t=2, p=1) — one at a time');
const pw = `bench-${randomBytes(8).toString('hex')}`;
const hashed = await hashPassword(pw);
const hashMs = await timeEach(30, () => hashPassword(pw));
const verifyMs = await timeEach(30, () => verifyPassword(hashed, pw));
const shaMs = await timeEach(30_000, (i) => createHash('sha256').update(`${pw}${i}`).digest());
console.log(`hash   ${fmt(hashMs, 2)} ms   verify ${fmt(verifyMs, 2)} ms   baseline sha256 ${fmt(shaMs * 1000, 2)} µs   ratio hash/sha256 ${fmt(hashMs / shaMs, 0)}x`);

console.log(`\n# HTTP on one Keyhold process, loopback, ${SECONDS}s each, 8 concurrent clients`);
const kh = await startKeyholdForBench();
try {
  const signup = await fetch(`${kh.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ organizationName: 'Bench Org', slug: 'bench-org', email: 'bench@example.com', password: pw }),
  }).then((r) => r.json());
  const token = signup.data.accessToken;
  const baseline = await load({ url: `${kh.url}/health`, seconds: SECONDS });
  const me = await load({ url: `${kh.url}/api/auth/me`, headers: { authorization: `Bearer ${token}` }, seconds: SECONDS });
  // Distinct client addresses are not possible on loopback, so sign-ins stay under the per-IP
  // failure limit by always succeeding.
  const login = await load({ url: `${kh.url}/api/auth/login`, method: 'POST', body: { tenant: 'bench-org', email: 'bench@example.com', password: pw }, seconds: SECONDS });
  const row = (name, r) => `${name.padEnd(22)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50, 1).padStart(6)} ms  p99 ${fmt(r.p99, 1).padStart(6)} ms  errors ${r.errors}  ratio vs /health ${fmt(r.rps / baseline.rps, 3)}`;
  console.log(row('GET /health (baseline)', baseline));
  console.log(row('GET /api/auth/me', me));
  console.log(row('POST /api/auth/login', login));
  // No goal was set for identity: its figures are informational (argon2id is slow by design).
  await report('identity', [
    { measure: 'argon2id hash', unit: 'ms', keyhold: hashMs, higherIsBetter: false },
    { measure: 'argon2id verify', unit: 'ms', keyhold: verifyMs, higherIsBetter: false },
    { measure: 'GET /api/auth/me vs GET /health', unit: 'req/s', keyhold: me.rps, baseline: baseline.rps },
    { measure: 'POST /api/auth/login vs GET /health', unit: 'req/s', keyhold: login.rps, baseline: baseline.rps },
  ]);
} finally {
  await kh.stop();
}
