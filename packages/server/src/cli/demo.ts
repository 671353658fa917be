import { randomBytes } from 'node:crypto';
import path from 'node:path';
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
  const sandbox = await createSandbox();
  const providerBaseUrls = Object.fromEntries([...sandbox.providers(), ...sandbox.oauth.providers()].map((id) => [id, sandbox.baseUrlFor(id)]));
  // Keyhold's own OAuth app at each sandbox provider, registered with this run's redirect URIs.
  const oauthApps: Config['oauthApps'] = {};
  const providerAuthUrls: Record<string, string> = {};
  for (const id of sandbox.oauth.providers()) {
    const app = { clientId: `keyhold-demo-${id}`, clientSecret: randomBytes(24).toString('base64url') };
    sandbox.oauth.registerApp(id, { ...app, redirectUri: `${config.publicUrl}/api/integrations/${id}/callback` });
    oauthApps[id] = { clientId: app.clientId, clientSecret: new Secret(app.clientSecret) };
    providerAuthUrls[id] = sandbox.baseUrlFor(id);
  }
  const demoResendKey = `re_demo_${randomBytes(12).toString('hex')}`;
  sandbox.seed('resend', { apiKey: demoResendKey });
  const demoConfig: Config = {
    ...config,
    dataDir: path.join(config.dataDir, 'demo'),
    database: config.database.mode === 'embedded' ? { ...config.database, pgDataDir: path.join(config.dataDir, 'demo', 'pg'), pgPort: config.database.pgPort + 1 } : config.database,
    providerBaseUrls: { ...providerBaseUrls, ...config.providerBaseUrls },
    providerAuthUrls: { ...providerAuthUrls, ...config.providerAuthUrls },
    oauthApps: { ...oauthApps, ...config.oauthApps },
    allowPrivateProviderUrls: true,
    // The platform's emails (password reset, invitations, alerts) go to the sandbox's Resend, whose inbox is browsable.
    email: config.email ?? { provider: 'resend', apiKey: new Secret(demoResendKey), from: 'Keyhold demo <no-reply@demo.keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') },
  };
  const stripeKey = `sk_test_demo${randomBytes(12).toString('hex')}`;
  sandbox.seed('stripe', { apiKey: stripeKey });
  sandbox.seed('openai', { apiKey: 'sk-demo-openai' });
  return runStart(demoConfig, log, {
    async afterStart({ services, url }) {
      // Offline: exchange rates come from the sandbox's daily-rates API instead of the ECB.
      // Through a provider HTTP client like the ECB source's (timeouts, User-Agent); the sandbox is local, not a tenant's URL.
      const http = createProviderHttp({ tenantUrls: createTenantUrlGuard({ allowPrivate: true }) });
      services.exchangeRates.useSource(dailyRatesApiSource((u, init) => http.fetch(u, init), sandbox.baseUrlFor('rates')));
      const lines = [`Keyhold demo running on ${url} (providers played by the sandbox at ${sandbox.url})`];
      if (await services.tenants.idBySlug(DEMO_SLUG)) {
        lines.push(`Demo tenant '${DEMO_SLUG}' exists (owner ${DEMO_EMAIL}; password as printed at its creation).`);
      } else {
        const password = `demo-${randomBytes(9).toString('base64url')}`;
        await services.auth.signup({ requestId: 'demo', ip: '127.0.0.1' }, { organizationName: 'Demo Company', slug: DEMO_SLUG, email: DEMO_EMAIL, password });
        lines.push(`Created demo tenant '${DEMO_SLUG}': owner ${DEMO_EMAIL} / ${password}  (shown once)`);
      }
      lines.push(`Sandbox Stripe key valid for this run: ${stripeKey}`, `Emails Keyhold sends (password reset, invitations, alerts): ${sandbox.url}/_sandbox/resend/inbox?to=<address>`, 'Walkthrough: see "Try it offline" in README.md.');
      process.stdout.write(`\n${lines.join('\n')}\n\n`);
    },
    afterStop: () => sandbox.close(),
  });
}
