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

describe('special characters', () => {
  const sign = unleashed.request!.sign!;
  const values = { config: {}, secrets: { apiId: 'id-1', apiKey: 'KeyholdTestApiKey==' } };
  it('signs the percent-encoded query exactly as the URL sends it, never a decoded form', () => {
    const url = new URL('https://api.unleashedsoftware.com/Products?productDescription=Blue%20%26%20Green&code=A+B&name=Caf%C3%A9');
    const signed = sign({ url, values })['api-auth-signature'];
    expect(signed).toBe(unleashedSignature('KeyholdTestApiKey==', 'productDescription=Blue%20%26%20Green&code=A+B&name=Caf%C3%A9'));
    expect(signed).not.toBe(unleashedSignature('KeyholdTestApiKey==', 'productDescription=Blue & Green&code=A B&name=Café'));
  });
  it('signs what the URL will send when it encodes characters itself', () => {
    const url = new URL(`https://api.unleashedsoftware.com/Products?productCode=O'Brien`);
    expect(url.toString()).toContain('O%27Brien');
    expect(sign({ url, values })['api-auth-signature']).toBe(unleashedSignature('KeyholdTestApiKey==', 'productCode=O%27Brien'));
  });
});
