import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, spawnCli, waitForHealth } from '../test-support/cli.js';
import { freePort } from '../test-support/index.js';
import { MALFORMED_REQUESTS, sendRaw } from '../test-support/raw-http.js';

/**
 * `keyhold start` as operators run it: the built CLI, its own embedded Postgres, stdout piped to
 * whatever reads it.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-start-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Server = { run: RunningCli; port: number; pgDir: string; pgPid: () => number | undefined };
const started: Server[] = [];
afterEach(() => {
  // A test that failed leaves nothing running behind it.
  for (const s of started.splice(0)) {
    if (s.run.child.exitCode === null && s.run.child.signalCode === null) s.run.child.kill('SIGKILL');
    const pid = s.pgPid();
    if (pid && isAlive(pid)) process.kill(pid, 'SIGQUIT');
  }
});

async function startServer(level: string): Promise<Server> {
  const dataDir = await mkdtemp(path.join(dir, 'data-'));
  await chmod(dataDir, 0o755);
  const port = await freePort();
  const run = spawnCli(['start'], { KEYHOLD_DATA_DIR: dataDir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(await freePort()), KEYHOLD_LOG_LEVEL: level });
  const pgDir = path.join(dataDir, 'pg');
  let pgPid: number | undefined;
  const server: Server = { run, port, pgDir, pgPid: () => pgPid };
  started.push(server);
  await waitForHealth(port, run);
  pgPid = Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return server;
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The exit code, or 'still running' if the process has not exited within `ms`. */
function exitWithin(run: RunningCli, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([run.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
}

async function expectPostgresStopped(s: Server, withinMs: number) {
  const deadline = Date.now() + withinMs;
  while ((isAlive(s.pgPid()!) || existsSync(path.join(s.pgDir, 'postmaster.pid'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(isAlive(s.pgPid()!), 'embedded Postgres still running').toBe(false);
}

describe('keyhold start process', () => {
  it('at trace level, malformed requests over a raw socket leave the server up and answering', async () => {
    const s = await startServer('trace');
    for (const { name, bytes } of MALFORMED_REQUESTS) {
      await sendRaw(s.port, bytes);
      expect(s.run.child.exitCode, `${name}:\n${s.run.output().slice(-2000)}`).toBeNull();
      expect((await fetch(`http://127.0.0.1:${s.port}/health`)).status, name).toBe(200);
    }
    expect(s.run.stdout()).toMatch(/"msg":"client error"/);
    expect(s.run.stdout()).not.toContain('rawPacket');
    s.run.child.kill('SIGTERM');
    expect(await exitWithin(s.run, 15_000)).toBe(0);
    await expectPostgresStopped(s, 5_000);
  }, 60_000);

  it('SIGTERM stops the server and its Postgres even when nobody reads its stdout any more', async () => {
    const s = await startServer('trace');
    // The reader stalls: the pipe fills up with trace lines (each request logs its long URL).
    s.run.child.stdout!.removeAllListeners('data');
    s.run.child.stdout!.pause();
    const pad = 'p'.repeat(4_000);
    for (let i = 0; i < 40; i++) {
      await Promise.all(Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${s.port}/health?pad=${pad}`).then((r) => r.arrayBuffer())));
    }
    s.run.child.kill('SIGTERM');
    const code = await exitWithin(s.run, 10_000);
    expect(code, s.run.output().slice(-2000)).toBe(0);
    await expectPostgresStopped(s, 5_000);
  }, 60_000);

  it('a second signal exits at once while the first is still draining, and Postgres still stops', async () => {
    const s = await startServer('info');
    // The reader went away: writes to stdout now fail with EPIPE.
    s.run.child.stdout!.destroy();
    // A client slowly uploading a body keeps the graceful drain waiting.
    const upload = net.connect(s.port, '127.0.0.1');
    upload.on('error', () => undefined);
    await new Promise((r) => upload.on('connect', r));
    upload.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":');
    await new Promise((r) => setTimeout(r, 200));
    try {
      s.run.child.kill('SIGTERM');
      expect(await exitWithin(s.run, 1_500)).toBe('still running');
      s.run.child.kill('SIGTERM');
      expect(await exitWithin(s.run, 3_000)).toBe(128 + 15);
      await expectPostgresStopped(s, 10_000);
    } finally {
      upload.destroy();
    }
  }, 60_000);
});
