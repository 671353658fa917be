import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CHECKOUT } from './server-state.js';
import { type DemoSecrets, loadDemoSecrets, readDemoOwner, saveDemoOwner } from './demo-state.js';
import { createSandbox } from '@keyhold/sandbox';
import type { Config } from '../platform/config.js';
import { Secret } from '../platform/crypto/secret.js';
import type { Logger } from '../platform/logger.js';
import { runStart } from './start.js';
import { dailyRatesApiSource } from '../modules/exchange-rates/rate-sources.js';
import { createProviderHttp } from '../platform/http/provider-http.js';
import { createTenantUrlGuard } from '../platform/http/public-dispatcher.js';

const DEMO_SLUG = 'demo';
const DEMO_EMAIL = 'owner@demo.keyhold.test';


/**
 * `npm run demo`: Keyhold on its own embedded Postgres (`<data dir>/demo`), with the provider
 * sandbox in-process and every provider's base URL pointed at it, plus a demo tenant. Offline.
 */
export async function runDemo(config: Config, log: Logger): Promise<number> {
  const demoDir = path.join(config.dataDir, 'demo');
  // Kept under the demo's data dir so a credential saved in one run still works in the next.
  const secrets: DemoSecrets = await loadDemoSecrets(demoDir);
  const sandbox = await createSandbox();
  const providerBaseUrls = Object.fromEntries([...sandbox.providers(), ...sandbox.oauth.providers()].map((id) => [id, sandbox.baseUrlFor(id)]));
  // Keyhold's own OAuth app at each sandbox provider, registered with this run's redirect URIs.
  const oauthApps: Config['oauthApps'] = {};
  const providerAuthUrls: Record<string, string> = {};
  for (const id of sandbox.oauth.providers()) {
    const app = { clientId: `keyhold-demo-${id}`, clientSecret: secrets.oauthClientSecret };
    sandbox.oauth.registerApp(id, { ...app, redirectUri: `${config.publicUrl}/api/integrations/${id}/callback` });
    oauthApps[id] = { clientId: app.clientId, clientSecret: new Secret(app.clientSecret) };
    providerAuthUrls[id] = sandbox.baseUrlFor(id);
  }
  const demoResendKey = secrets.resendKey;
  sandbox.seed('resend', { apiKey: demoResendKey });
  const demoConfig: Config = {
    ...config,
    dataDir: demoDir,
    database: config.database.mode === 'embedded' ? { ...config.database, pgDataDir: path.join(demoDir, 'pg'), pgPort: config.database.pgPort + 1 } : config.database,
    providerBaseUrls: { ...providerBaseUrls, ...config.providerBaseUrls },
    providerAuthUrls: { ...providerAuthUrls, ...config.providerAuthUrls },
    oauthApps: { ...oauthApps, ...config.oauthApps },
    allowPrivateProviderUrls: true,
    // The platform's emails (password reset, invitations, alerts) go to the sandbox's Resend, whose inbox is browsable.
    email: config.email ?? { provider: 'resend', apiKey: new Secret(demoResendKey), from: 'Keyhold demo <no-reply@demo.keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') },
  };
  const stripeKey = secrets.stripeKey;
  sandbox.seed('stripe', { apiKey: stripeKey });
  sandbox.seed('openai', { apiKey: 'sk-demo-openai' });
  return runStart(demoConfig, log, {
    kind: 'demo',
    async afterStart({ services, url }) {
      // Offline: exchange rates come from the sandbox's daily-rates API instead of the ECB.
      // Through a provider HTTP client like the ECB source's (timeouts, User-Agent); the sandbox is local, not a tenant's URL.
      const http = createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: true }) });
      services.exchangeRates.useSource(dailyRatesApiSource((u, init) => http.fetch(u, init), sandbox.baseUrlFor('rates')));
      const lines = [`Keyhold demo running on ${url} (providers played by the sandbox at ${sandbox.url})`];
      const resetHint = `(changed it? npm --prefix ${CHECKOUT} run keyhold -- users reset-password --data-dir ${config.dataDir} --tenant ${DEMO_SLUG} --email ${DEMO_EMAIL})`;
      if (await services.tenants.idBySlug(DEMO_SLUG)) {
        const saved = await readDemoOwner(demoDir);
        lines.push(saved ? `Demo tenant '${DEMO_SLUG}': owner ${DEMO_EMAIL} / ${saved}  ${resetHint}` : `Demo tenant '${DEMO_SLUG}' exists (owner ${DEMO_EMAIL}) ${resetHint}`);
      } else {
        const password = `demo-${randomBytes(9).toString('base64url')}`;
        await services.auth.signup({ requestId: 'demo', ip: '127.0.0.1' }, { organizationName: 'Demo Company', slug: DEMO_SLUG, email: DEMO_EMAIL, password });
        await saveDemoOwner(demoDir, password);
        lines.push(`Created demo tenant '${DEMO_SLUG}': owner ${DEMO_EMAIL} / ${password}  (kept in ${path.join(demoDir, 'demo-owner.txt')})`);
      }
      lines.push(`Sandbox Stripe key (the same every run): ${stripeKey}`, `Emails Keyhold sends (password reset, invitations, alerts): ${sandbox.url}/_sandbox/resend/inbox?to=<address>`, 'Walkthrough: see "Try it offline" in README.md.');
      process.stdout.write(`\n${lines.join('\n')}\n\n`);
    },
    afterStop: () => sandbox.close(),
  });
}
