import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ecbRateSource, intoHome, parseEcbXml } from './rate-sources.js';

/** The ECB's eurofxref-daily.xml of 8 July 2022, as published (units per euro). */
const fixture = () => readFile(new URL('./fixtures/eurofxref-daily-2022-07-08.xml', import.meta.url), 'utf8');

describe('ECB daily reference rates', () => {
  it('parses every currency of the day, per euro', async () => {
    const q = parseEcbXml(await fixture(), '2022-07-08')!;
    expect(q).toMatchObject({ source: 'ecb', base: 'EUR', date: '2022-07-08' });
    expect(Object.keys(q.rates)).toHaveLength(32); // 31 currencies and the euro itself
    expect(q.rates).toMatchObject({ EUR: 1, USD: 1.0163, JPY: 138.05, GBP: 0.84585, IDR: 15210.73, ZAR: 17.1922 });
  });

  it('converts into a home currency: rate(X→home) = EUR→home / EUR→X (hand-checked)', async () => {
    const q = parseEcbXml(await fixture(), '2022-07-08')!;
    // A US company: one euro is 1.0163 USD; one pound is 1.0163 / 0.84585 = 1.201513271 USD.
    expect(intoHome(q, 'EUR', 'USD')).toBe(1.0163);
    expect(intoHome(q, 'GBP', 'USD')).toBe(1.201513271);
    // 1.0163 / 138.05 = 0.00736182542557… → 0.007361825426 USD per yen (ten significant digits).
    expect(intoHome(q, 'JPY', 'USD')).toBe(0.007361825426);
    // A euro company: one dollar is 1 / 1.0163 = 0.9839614287 EUR.
    expect(intoHome(q, 'USD', 'EUR')).toBe(0.9839614287);
    // A British company: 0.84585 / 1.9558 (BGN) = 0.43248287146… → 0.4324828715 GBP per lev.
    expect(intoHome(q, 'BGN', 'GBP')).toBe(0.4324828715);
    expect(intoHome(q, 'USD', 'USD')).toBeNull();
    expect(intoHome(q, 'XXX', 'USD')).toBeNull();
  });

  it('takes the latest day not after the date asked (weekends), and none before the first', async () => {
    const xml = await fixture();
    expect(parseEcbXml(xml, '2022-07-10')!.date).toBe('2022-07-08');
    expect(parseEcbXml(xml, '2022-07-07')).toBeNull();
    const twoDays = xml.replace("<Cube time='2022-07-08'>", "<Cube time='2022-07-11'><Cube currency='USD' rate='1.0034'/></Cube><Cube time='2022-07-08'>");
    expect(parseEcbXml(twoDays, '2022-07-11')!.rates.USD).toBe(1.0034);
    expect(parseEcbXml(twoDays, '2022-07-09')!.rates.USD).toBe(1.0163);
  });

  it('refuses what is not the ECB format', () => {
    expect(parseEcbXml('<html><body>maintenance</body></html>', '2022-07-08')).toBeNull();
    expect(parseEcbXml('not xml at all', '2022-07-08')).toBeNull();
  });

  it('a date before the first day the ECB file holds is 422 RATES_NOT_AVAILABLE (asking again will not help); an unreadable file is 503', async () => {
    const xml = await fixture();
    const served = (body: string) => async () => new Response(body, { status: 200 });
    const ecb = ecbRateSource(served(xml), { today: () => '2022-07-08' });
    expect((await ecb.ratesFor('2022-07-08')).date).toBe('2022-07-08');
    await expect(ecb.ratesFor('2022-07-01')).rejects.toMatchObject({ code: 'RATES_NOT_AVAILABLE', httpStatus: 422 });
    await expect(ecbRateSource(served('<html>maintenance</html>'), { today: () => '2022-07-08' }).ratesFor('2022-07-01')).rejects.toMatchObject({ code: 'INTEGRATION_UNAVAILABLE', httpStatus: 503 });
  });
});
