// Every Keyhold benchmark, one after the other, each in its own process with short settings (the
// whole run fits in about ten minutes on two cores), then one table of all their figures — measure,
// Keyhold, baseline, ratio, goal, met? — also written as JSON to bench/results/latest.json with
// the machine, the date and the settings used. A benchmark that crashes, times out, is missing or
// reports nothing is a failed row; the others still run. Exits non-zero when a goal is missed or a
// benchmark failed. Each benchmark stays runnable alone with its longer defaults
// (`npm run bench:<name>`).
// Run: npm run bench   (builds first)
//   BENCH_ONLY=identity,vault   run some of them only
//   BENCH_SECONDS=3             load duration per measurement (any setting below can be overridden
//                               from the environment, e.g. BENCH_SOAK_SECONDS=600)
//   BENCH_TIMEOUT_SECONDS=300   a benchmark still running after this is stopped and fails (the soak gets its own length on top)
//   BENCH_EXIT_GRACE_SECONDS=60 one still running this long after its report is stopped and fails (its figures kept)
//   BENCH_VERBOSE=1             also print each benchmark's own output (always in bench/results/<name>.log)
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const here = (p) => new URL(p, import.meta.url).pathname;
const RESULTS_DIR = here('./results');
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 300);
const VERBOSE = process.env.BENCH_VERBOSE === '1';
/** A benchmark reports once, at its end: still running this long after its report, it is stopped. */
const EXIT_GRACE_S = Number(process.env.BENCH_EXIT_GRACE_SECONDS ?? 60);

/**
 * The short settings of the one-command run, per benchmark (environment names each benchmark
 * reads). Sizes are below the issues' full ones so that the whole run fits the budget; the
 * figures at full size come from running a benchmark alone.
 */
const COMMON = { BENCH_SECONDS: '3' };
const BENCHES = [
  { name: 'identity', env: {} },
  { name: 'vault', env: {} },
  { name: 'proxy', env: { BENCH_CONNECTIONS: '32,128' } },
  { name: 'refresh', env: { BENCH_REFRESH_CONNECTIONS: '20000' } },
  { name: 'webhooks', env: { BENCH_ROUNDS: '3' } },
  { name: 'deliveries', env: { BENCH_DELIVERIES: '2000', BENCH_CONCURRENCY: '16' } },
  { name: 'syncs', env: { BENCH_ORDERS: '20000', BENCH_ROUNDS: '2' } },
  // BENCH_SECONDS here bounds each fairness scenario's sampling, not a load run.
  { name: 'syncs-fairness', env: { BENCH_BIG_CONNECTIONS: '100', BENCH_SAMPLES: '8', BENCH_SECONDS: '6' } },
  { name: 'scale', env: { BENCH_SCALE_TENANTS: '10000', BENCH_SCALE_CONNECTIONS_PER_TENANT: '10', BENCH_SCALE_SMALL_TENANTS: '1000' } },
  { name: 'rotation', env: { BENCH_ROTATION_TENANTS: '10000' } },
  // One minute: enough to catch a fast leak; the growth goal is judged on a 10-minute soak run alone.
  { name: 'soak', env: { BENCH_SOAK_SECONDS: '60' } },
];
// A benchmark sees its own settings only: some names mean different things to different
// benchmarks (BENCH_CONNECTIONS is a list for the proxy).
const OWN_KEYS = new Set(BENCHES.flatMap((b) => Object.keys(b.env)));

function settingsOf(bench) {
  const out = {};
  for (const [k, v] of Object.entries({ ...COMMON, ...bench.env })) out[k] = process.env[k] ?? v;
  return out;
}

/**
 * Each benchmark gets a temp dir of its own (TMPDIR), removed after it, so that the data
 * directories of one that was stopped or crashed do not stay behind.
 */
function envFor(settings, resultsFile, tmpDir) {
  const env = { ...process.env };
  for (const k of OWN_KEYS) delete env[k];
  return { ...env, ...settings, BENCH_RESULTS_FILE: resultsFile, TMPDIR: tmpDir };
}

/**
 * Runs one benchmark in its own process group, so that a timeout stops it together with what it
 * started (Keyhold nodes, Postgres, upstreams). Its output goes to its log file.
 */
function runOne(bench, env, logFile, timeoutS, resultsFile) {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile);
    const proc = spawn(process.execPath, [here(`./${bench.name}.mjs`)], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const tail = [];
    const keep = (chunk, stream) => {
      log.write(chunk);
      if (VERBOSE) stream.write(chunk);
      tail.push(...String(chunk).split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 15));
    };
    proc.stdout.on('data', (c) => keep(c, process.stdout));
    proc.stderr.on('data', (c) => keep(c, process.stderr));
    let timedOut = false;
    let hungAfterReport = false;
    const signalGroup = (sig) => {
      try {
        process.kill(-proc.pid, sig);
      } catch {
        // the group is gone already
      }
    };
    const stop = () => {
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutS * 1000);
    let graceTimer;
    const watcher = setInterval(() => {
      if (graceTimer || !existsSync(resultsFile)) return;
      graceTimer = setTimeout(() => {
        hungAfterReport = true;
        stop();
      }, EXIT_GRACE_S * 1000);
    }, 1000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearInterval(watcher);
      // Whatever the benchmark left running in its group (a server it did not get to stop).
      signalGroup('SIGKILL');
      log.end(() => resolve({ code, signal, timedOut, hungAfterReport, tail }));
    });
  });
}

const fmtNum = (n) => {
  if (n === null || n === undefined) return '';
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: a >= 100 ? 0 : a >= 10 ? 1 : 2, minimumFractionDigits: 0 });
};
// Two decimals, but a ratio far below one keeps two significant digits rather than showing 0.00.
const fmtRatio = (x) => (Math.abs(x) >= 0.1 || x === 0 ? x.toFixed(2) : x.toPrecision(2));
const goalText = (r) => (r.goalAbsolute !== null && r.goalAbsolute !== undefined
  ? `${r.higherIsBetter ? '≥' : '≤'} ${fmtNum(r.goalAbsolute)} ${r.unit}`
  : r.goal !== null && r.goal !== undefined ? `${r.higherIsBetter ? '≥' : '≤'} ${+r.goal.toFixed(2)}×` : '');
const metText = (r) => (r.failed ? 'FAILED' : r.met === true ? 'yes' : r.met === false ? 'NO' : '');

function table(rows) {
  const head = ['bench', 'measure', 'Keyhold', 'baseline', 'ratio', 'goal', 'met?'];
  const cells = rows.map((r) => [
    r.bench, r.measure,
    r.failed ? '' : `${fmtNum(r.keyhold)} ${r.unit}`.trim(),
    r.baseline === null ? '' : fmtNum(r.baseline),
    r.ratio === null ? '' : `${fmtRatio(r.ratio)}×`,
    goalText(r), metText(r),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const right = new Set([2, 3, 4]);
  const line = (c) => c.map((x, i) => (right.has(i) ? x.padStart(width[i]) : x.padEnd(width[i]))).join('  ').trimEnd();
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
if (only) {
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`BENCH_ONLY: no benchmark named ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
    process.exit(2);
  }
}
const selected = BENCHES.filter((b) => !only || only.includes(b.name));

await mkdir(RESULTS_DIR, { recursive: true });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'keyhold-bench-all-'));
// Run as root, embedded Postgres runs as the user 'postgres', which must be able to enter it.
await chmod(tmp, 0o755);
const started = new Date();
// Other work on a shared machine weighs on every figure: the load when the run began is kept with them.
const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const t0 = performance.now();
const rows = [];
const runs = [];
try {
  for (const bench of selected) {
    const settings = settingsOf(bench);
    const shown = Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ');
    const file = here(`./${bench.name}.mjs`);
    const failedRow = (why) => ({ bench: bench.name, measure: why, unit: '', keyhold: null, baseline: null, ratio: null, goal: null, goalAbsolute: null, higherIsBetter: true, met: false, failed: true, note: null });
    if (!existsSync(file)) {
      console.log(`- ${bench.name}: missing (bench/${bench.name}.mjs is not in this checkout)`);
      rows.push(failedRow(`missing: bench/${bench.name}.mjs is not in this checkout`));
      runs.push({ bench: bench.name, settings, status: 'missing', seconds: 0 });
      continue;
    }
    console.log(`- ${bench.name} (${shown}) …`);
    const resultsFile = path.join(tmp, `${bench.name}.jsonl`);
    const logFile = path.join(RESULTS_DIR, `${bench.name}.log`);
    const b0 = performance.now();
    // The soak's own duration comes on top of the usual allowance.
    const timeoutS = TIMEOUT_S + Number(settings.BENCH_SOAK_SECONDS ?? 0);
    const tmpDir = path.join(tmp, bench.name);
    await mkdir(tmpDir);
    await chmod(tmpDir, 0o755);
    const { code, signal, timedOut, hungAfterReport, tail } = await runOne(bench, envFor(settings, resultsFile, tmpDir), logFile, timeoutS, resultsFile);
    const seconds = (performance.now() - b0) / 1000;
    const text = await readFile(resultsFile, 'utf8').catch(() => '');
    await rm(tmpDir, { recursive: true, force: true });
    const reported = text.split('\n').filter(Boolean).map((l) => ({ ...JSON.parse(l), failed: false }));
    rows.push(...reported);
    let status = 'ok';
    if (hungAfterReport) status = `still running ${EXIT_GRACE_S} s after its report, stopped (its rows are kept)`;
    else if (timedOut) status = `timed out after ${timeoutS} s`;
    else if (code !== 0) status = `crashed (${signal ? `signal ${signal}` : `exit code ${code}`})`;
    else if (reported.length === 0) status = 'reported no rows';
    if (status !== 'ok') {
      rows.push(failedRow(`${status}; output in bench/results/${bench.name}.log`));
      console.log(`  ${timedOut || hungAfterReport ? status : `${status} after ${seconds.toFixed(0)} s`}; ${tail.length ? `its last lines:\n${tail.map((l) => `    ${l}`).join("\n")}` : "no output"}`);
    } else {
      console.log(`  done in ${seconds.toFixed(0)} s, ${reported.length} rows`);
    }
    runs.push({ bench: bench.name, settings, status, seconds: Math.round(seconds) });
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
const totalSeconds = (performance.now() - t0) / 1000;

const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, loadAverageAtStart: loadAtStart };
console.log(`\n# Keyhold benchmarks, ${started.toISOString()}, ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average at start ${loadAtStart.join(' ')}, ${Math.round(totalSeconds)} s in all`);
console.log('Short settings (full sizes: run a benchmark alone): ' + runs.map((r) => `${r.bench} ${Object.entries(r.settings).map(([k, v]) => `${k.replace(/^BENCH_/, '').toLowerCase()}=${v}`).join(' ')}`).join('; '));
console.log(`Noisy on a shared machine: compare the ratios (baselines run side by side in the same benchmark).\n`);
console.log(table(rows));
const notes = rows.filter((r) => r.note);
if (notes.length) console.log(`\nNotes:\n${notes.map((r) => `  ${r.bench}: ${r.measure} — ${r.note}`).join('\n')}`);

const failed = runs.filter((r) => r.status !== 'ok');
const missed = rows.filter((r) => !r.failed && r.met === false);
await writeFile(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify({ date: started.toISOString(), seconds: Math.round(totalSeconds), machine, runs, rows, missed: missed.map((r) => `${r.bench}: ${r.measure}`), failed: failed.map((r) => `${r.bench}: ${r.status}`) }, null, 2) + '\n');
console.log(`\nWritten to bench/results/latest.json (each benchmark's output: bench/results/<name>.log).`);
if (failed.length) console.log(`Failed benchmarks: ${failed.map((r) => `${r.bench} (${r.status})`).join(', ')}`);
if (missed.length) console.log(`Missed goals:\n${missed.map((r) => `  ${r.bench}: ${r.measure} — ${fmtNum(r.keyhold)} ${r.unit}${r.ratio !== null ? ` (${fmtRatio(r.ratio)}×)` : ''}, goal ${goalText(r)}`).join('\n')}`);
if (!failed.length && !missed.length) console.log('Every goal met.');
process.exitCode = failed.length || missed.length ? 1 : 0;
