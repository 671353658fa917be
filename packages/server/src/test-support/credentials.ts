/** Valid-looking credentials per provider, by catalog field name; the sandbox is seeded with them. */
export function credentialsFor(id: string): { body: Record<string, unknown>; seed: Record<string, string> } {
  const rnd = crypto.randomUUID().replaceAll('-', '');
  switch (id) {
    case 'stripe': return { body: { apiKey: `sk_test_${rnd}` }, seed: { apiKey: `sk_test_${rnd}` } };
    case 'resend': return { body: { apiKey: `re_${rnd}` }, seed: { apiKey: `re_${rnd}` } };
    case 'openai': return { body: { apiKey: `sk-proj-${rnd}` }, seed: { apiKey: `sk-proj-${rnd}` } };
    case 'anthropic': return { body: { apiKey: `sk-ant-api03-${rnd}` }, seed: { apiKey: `sk-ant-api03-${rnd}` } };
    case 'assemblyai': return { body: { apiKey: rnd }, seed: { apiKey: rnd } };
    case 'mux': return { body: { apiKey: `tok-${rnd.slice(0, 8)}`, apiSecret: `sec-${rnd}` }, seed: { apiKey: `tok-${rnd.slice(0, 8)}`, apiSecret: `sec-${rnd}` } };
    case 'wise': return { body: { apiKey: rnd, additionalConfig: { profileId: '12345678' } }, seed: { apiKey: rnd } };
    case 'kustomer': return { body: { apiKey: rnd, additionalConfig: { orgSubdomain: 'acme' } }, seed: { apiKey: rnd } };
    case 'capricorn': return { body: { apiKey: rnd, additionalConfig: { customerId: 'C-100' } }, seed: { apiKey: rnd, customerId: 'C-100' } };
    case 'unleashed': {
      const apiId = crypto.randomUUID();
      return { body: { apiKey: `${rnd}==`, additionalConfig: { apiId } }, seed: { apiId, apiKey: `${rnd}==` } };
    }
    default: throw new Error(`no sandbox credentials for '${id}': add them here and a verify route to packages/sandbox`);
  }
}

