import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../test-support/cli.js';
import { freePort } from '../test-support/index.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const json = async (res: Response) => (await res.json()) as { data: Record<string, unknown> };

describe('npm run demo', () => {
  it("runs the README walkthrough: sign in as the demo owner, connect Xero against the sandbox", async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keyhold-demo-'));
    await chmod(dir, 0o755);
    const port = await freePort();
    const pgPort = String(await freePort());
    const run = spawnCli(['demo'], { KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: pgPort });
    let stripeKey: string | undefined;
    let stripeId: string | undefined;
    let password: string | undefined;
    try {
      await demoReady(run);
      password = /owner@demo\.keyhold\.test \/ (demo-[A-Za-z0-9_-]+)/.exec(run.stdout())?.[1];
      expect(password, run.output()).toBeDefined();
      stripeKey = /Sandbox Stripe key \(the same every run\): (sk_test_demo\w+)/.exec(run.stdout())?.[1];
      expect(stripeKey, run.output()).toBeDefined();
      const K = `http://127.0.0.1:${port}`;
      const auth = await signIn(K, password!);
      const saved = await fetch(`${K}/api/api-credentials`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ serviceName: 'stripe', apiKey: stripeKey }) });
      expect(saved.status).toBe(201);
      stripeId = (await json(saved)).data.id as string;

      const started = await fetch(`${K}/api/integrations/xero/authorize`, { headers: auth });
      const cookie = started.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const consent = await fetch((await json(started)).data.authUrl as string, { redirect: 'manual' });
      const callback = await fetch(consent.headers.get('location')!, { headers: { cookie }, redirect: 'manual' });
      expect(callback.status).toBe(302);
      expect(callback.headers.get('location')).toBe('/admin/integrations?xero=configured');
      const list = (await json(await fetch(`${K}/api/api-credentials`, { headers: auth }))).data as unknown as Array<{ service_name: string; status: string; config: Record<string, string> }>;
      expect(list.find((c) => c.service_name === 'xero')).toEqual(expect.objectContaining({ status: 'active', config: { xeroTenantId: expect.stringMatching(/^[0-9a-f-]{36}$/) } }));

      // Password reset: the email lands in the sandbox's Resend inbox, printed at start.
      const inbox = /Emails Keyhold sends .*: (http:\/\/127\.0\.0\.1:\d+\/_sandbox\/resend\/inbox)\?to=/.exec(run.stdout())?.[1];
      expect(inbox, run.output()).toBeDefined();
      const forgot = await fetch(`${K}/api/auth/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo', email: 'owner@demo.keyhold.test' }) });
      expect(forgot.status).toBe(202);
      let mails: Array<{ subject: string }> = [];
      for (let i = 0; i < 50 && mails.length === 0; i++) {
        mails = (await json(await fetch(`${inbox}?to=owner@demo.keyhold.test`))).data as unknown as Array<{ subject: string }>;
        if (mails.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(mails.map((m) => m.subject)).toEqual(['Reset your Keyhold password']);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }

    // A second run on the same data dir: same sandbox key (the saved credential still works) and
    // the owner's password printed again.
    const port2 = await freePort();
    const again = spawnCli(['demo'], { KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port2), KEYHOLD_PG_PORT: pgPort });
    try {
      await demoReady(again);
      expect(again.stdout()).toContain(`owner@demo.keyhold.test / ${password}`);
      expect(again.stdout()).toContain(`Sandbox Stripe key (the same every run): ${stripeKey}`);
      const K = `http://127.0.0.1:${port2}`;
      const auth = await signIn(K, password!);
      const tested = await fetch(`${K}/api/api-credentials/${stripeId}/test`, { method: 'POST', headers: auth });
      expect(tested.status, await tested.clone().text()).toBe(200);

      // The CLI finds the running demo's database from the data dir alone, and resets the owner's password.
      const reset = await runCli(['users', 'reset-password', '--data-dir', dir!, '--tenant', 'demo', '--email', 'owner@demo.keyhold.test'], {});
      expect(reset.code, reset.output).toBe(0);
      expect(reset.output).toContain(`Using the database of the demo in ${path.join(dir!, 'demo')} (running, ${K})`);
      await signIn(K, reset.stdout.trim());
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  }, 180_000);
});

async function demoReady(run: ReturnType<typeof spawnCli>) {
  const deadline = Date.now() + 90_000;
  while (!/Walkthrough:/.test(run.stdout()) && Date.now() < deadline) {
    if (run.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(run.stdout(), run.output()).toContain('Walkthrough:');
}

async function signIn(K: string, password: string) {
  const login = await fetch(`${K}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo', email: 'owner@demo.keyhold.test', password }) });
  expect(login.status).toBe(200);
  return { authorization: `Bearer ${(await json(login)).data.accessToken}` };
}
