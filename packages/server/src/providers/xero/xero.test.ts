import { describe, expect, it } from 'vitest';
import { xeroRateSignals } from './index.js';

const reader = (h: Record<string, string>) => (name: string) => h[name];

describe('rate-limit headers', () => {
  it('reads the calls left this minute and today', () => {
    expect(xeroRateSignals(reader({ 'x-minlimit-remaining': '59', 'x-daylimit-remaining': '4999', 'x-appminlimit-remaining': '9999' }))).toEqual([
      { bucket: 'minute', remaining: 59 },
      { bucket: 'day', remaining: 4999 },
    ]);
    expect(xeroRateSignals(reader({ 'x-minlimit-remaining': '0' }))).toEqual([{ bucket: 'minute', remaining: 0 }]);
  });
  it('ignores absent, empty or non-numeric values', () => {
    expect(xeroRateSignals(reader({}))).toEqual([]);
    expect(xeroRateSignals(reader({ 'x-minlimit-remaining': '', 'x-daylimit-remaining': 'many' }))).toEqual([]);
  });
});
