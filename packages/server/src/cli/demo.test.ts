import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../test-support/cli.js';
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
    const run = spawnCli(['demo'], { KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: String(port), KEYHOLD_PG_PORT: String(await freePort()) });
    try {
      const deadline = Date.now() + 60_000;
      while (!/demo-[A-Za-z0-9_-]+ {2}\(shown once\)/.test(run.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const password = /owner@demo\.keyhold\.test \/ (demo-[A-Za-z0-9_-]+)/.exec(run.stdout())?.[1];
      expect(password, run.output()).toBeDefined();
      const K = `http://127.0.0.1:${port}`;
      const login = await json(await fetch(`${K}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo', email: 'owner@demo.keyhold.test', password }) }));
      const auth = { authorization: `Bearer ${login.data.accessToken}` };

      const started = await fetch(`${K}/api/integrations/xero/authorize`, { headers: auth });
      const cookie = started.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const consent = await fetch((await json(started)).data.authUrl as string, { redirect: 'manual' });
      const callback = await fetch(consent.headers.get('location')!, { headers: { cookie }, redirect: 'manual' });
      expect(callback.status).toBe(302);
      expect(callback.headers.get('location')).toBe('/admin/integrations?xero=configured');
      const list = (await json(await fetch(`${K}/api/api-credentials`, { headers: auth }))).data as unknown as Array<{ service_name: string; status: string; config: Record<string, string> }>;
      expect(list).toEqual([expect.objectContaining({ service_name: 'xero', status: 'active', config: { xeroTenantId: expect.stringMatching(/^[0-9a-f-]{36}$/) } })]);

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
  }, 90_000);
});
