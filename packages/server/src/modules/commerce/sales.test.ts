import { describe, expect, it } from 'vitest';
import { salesIn } from './sales.js';

const NOW = new Date('2026-11-03T12:00:00Z');
const order = (o: Record<string, unknown>) => ({ created_at: '2026-11-02T10:00:00Z', currency: 'USD', total_price: '1.00', cancelled_at: null, financial_status: 'paid', ...o });

describe('sales of a store', () => {
  it('sums exactly per currency (no float drift, 3-decimal currencies kept), leaving out cancelled and voided orders and orders outside the window', () => {
    const orders = [
      ...Array.from({ length: 10 }, () => order({ total_price: '0.10' })),
      order({ total_price: '19.99', currency: 'EUR' }),
      order({ total_price: '0.005', currency: 'KWD' }),
      order({ total_price: '1.250', currency: 'KWD' }),
      order({ total_price: '100.00', cancelled_at: '2026-11-02T11:00:00Z', financial_status: 'refunded' }),
      order({ total_price: '50.00', financial_status: 'voided' }),
      order({ total_price: '7.00', created_at: '2026-10-27T11:59:59Z' }),
      order({ total_price: '8.00', created_at: '2026-10-27T12:00:00Z' }),
      order({ total_price: '9.00', created_at: '2026-11-03T12:00:01Z' }),
    ];
    expect(salesIn(orders, NOW, 7)).toEqual({
      orders: 14,
      sales: [{ currency: 'EUR', amount: '19.99' }, { currency: 'KWD', amount: '1.255' }, { currency: 'USD', amount: '9.00' }],
    });
    expect(salesIn(orders, NOW, 30).sales.find((s) => s.currency === 'USD')).toEqual({ currency: 'USD', amount: '16.00' });
  });
});
