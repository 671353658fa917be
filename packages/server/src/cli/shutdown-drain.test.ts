import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { scratchServerEnv, spawnCli, waitForHealth } from '../test-support/cli.js';
import { freePort, migratedScratch } from '../test-support/index.js';

/**
 * A node behind a load balancer is stopped with SIGTERM (systemd, a rolling upgrade). For
 * KEYHOLD_SHUTDOWN_DRAIN_SECONDS it keeps serving while /ready fails, so the balancer takes it
 * out before its listener closes; a keep-alive connection busy when the signal came is closed
 * after its response instead of holding the exit up.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('shutdown drain', () => {
  it('after SIGTERM: /ready 503, requests still answered with Connection: close, a busy keep-alive connection closed, exit 0 soon after the drain', async () => {
    const scratch = await migratedScratch();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'keyhold-drain-'));
    cleanups.push(async () => {
      await scratch.db.close();
      await scratch.drop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const port = await freePort();
    const run = spawnCli(['start'], {
      ...scratchServerEnv({ adminUrl: scratch.adminUrl, appPassword: inject('appPassword'), jobsPassword: inject('jobsPassword'), masterKeys: inject('masterKeys'), dataDir, port }),
      KEYHOLD_SHUTDOWN_DRAIN_SECONDS: '2',
    });
    cleanups.push(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    });
    await waitForHealth(port, run);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/ready`)).status).toBe(200);

    // A keep-alive request in flight when the signal comes: its body is still being uploaded.
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const socketClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise((r) => socket.on('connect', r));
    const body = JSON.stringify({ tenant: 'nobody', email: 'nobody@example.com', password: 'not-the-password' });
    socket.write(`POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 200));

    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    // The node turns /ready to 503 once it handles the signal: asked until then, for at most 1.5 s
    // (well inside the 2 s drain, so the requests below still find the listener open).
    let ready = await fetch(`${base}/ready`);
    while (ready.status !== 503 && Date.now() - signalledAt < 1_500) {
      await ready.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
      ready = await fetch(`${base}/ready`);
    }
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { code: string }).code).toBe('NOT_READY');
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('connection')).toBe('close');

    socket.write(body.slice(10));
    await socketClosed;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('connection: close');

    const code = await Promise.race([run.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(code, run.output().slice(-2000)).toBe(0);
    // It served for the whole drain, then stopped without waiting on idle connections.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - signalledAt).toBeLessThan(8_000);
  }, 60_000);
});
