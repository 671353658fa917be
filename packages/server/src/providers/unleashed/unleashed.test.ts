import { describe, expect, it } from 'vitest';
import { unleashed, unleashedSignature } from './index.js';

// Unleashed publishes the rule but no test vector; these were computed independently with
// `printf '<query>' | openssl dgst -sha256 -hmac '<key>' -binary | base64`.
describe('request signature', () => {
  it('is base64 HMAC-SHA256 of the query string without "?", keyed by the API key', () => {
    expect(unleashedSignature('KeyholdTestApiKey==', 'customerCode=ACME')).toBe('6bpZ7f0hxj7d6BPRA8sQLKMafLTRTc0UJYb3ykD1vgA=');
    expect(unleashedSignature('KeyholdTestApiKey==', '?customerCode=ACME')).toBe('6bpZ7f0hxj7d6BPRA8sQLKMafLTRTc0UJYb3ykD1vgA=');
    expect(unleashedSignature('KeyholdTestApiKey==', '')).toBe('DeiopYfEHzTbNH8tisnJXUKhwTrO2ZMdMyI+ogwB7FA=');
  });
  it("signs the request's own query, not its path", () => {
    const sign = unleashed.request!.sign!;
    const values = { config: {}, secrets: { apiId: 'id-1', apiKey: 'KeyholdTestApiKey==' } };
    expect(sign({ url: new URL('https://api.unleashedsoftware.com/Customers?customerCode=ACME'), values })).toEqual({ 'api-auth-signature': '6bpZ7f0hxj7d6BPRA8sQLKMafLTRTc0UJYb3ykD1vgA=' });
    expect(sign({ url: new URL('https://api.unleashedsoftware.com/StockOnHand'), values })).toEqual({ 'api-auth-signature': 'DeiopYfEHzTbNH8tisnJXUKhwTrO2ZMdMyI+ogwB7FA=' });
  });
});
