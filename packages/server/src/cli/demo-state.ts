import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * What the demo keeps between runs in its data dir (mode 0600, like the dev master key beside it):
 * the sandbox's keys, so a Stripe key saved as a credential in one run still works in the next,
 * and the demo owner's first password, printed again at every start.
 */
export type DemoSecrets = { stripeKey: string; resendKey: string; oauthClientSecret: string };

const SECRETS_FILE = 'sandbox-keys.json';
const OWNER_FILE = 'demo-owner.txt';

export async function loadDemoSecrets(demoDir: string): Promise<DemoSecrets> {
  const file = path.join(demoDir, SECRETS_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DemoSecrets;
  } catch {
    const secrets: DemoSecrets = {
      stripeKey: `sk_test_demo${randomBytes(12).toString('hex')}`,
      resendKey: `re_demo_${randomBytes(12).toString('hex')}`,
      oauthClientSecret: randomBytes(24).toString('base64url'),
    };
    await mkdir(demoDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    return secrets;
  }
}

export async function saveDemoOwner(demoDir: string, password: string): Promise<void> {
  await writeFile(path.join(demoDir, OWNER_FILE), `${password}\n`, { mode: 0o600 });
}

export async function readDemoOwner(demoDir: string): Promise<string | undefined> {
  return readFile(path.join(demoDir, OWNER_FILE), 'utf8').then((s) => s.trim() || undefined, () => undefined);
}
