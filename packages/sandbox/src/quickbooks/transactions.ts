import { createHash } from 'node:crypto';

/**
 * Each QuickBooks company's (realm's) invoices and bills, as the query endpoint returns them
 * (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice,
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/bill).
 * Deterministic per realm; `Balance` is what is still owed, in the transaction's currency, and
 * `ExchangeRate` (home-currency units per unit of it) is present on foreign-currency ones.
 * `MetaData.LastUpdatedTime` is Intuit's Pacific-time ISO string; every change moves it.
 */
type Row = Record<string, unknown>;
export const QBO_INVOICES_PER_REALM = 1200;
export const QBO_BILLS_PER_REALM = 360;
const ORIGIN = Date.UTC(2026, 9, 1, 17);
const HOUR = 3_600_000;
const CREATED = '2026-10-01T09:00:00-07:00';

/** As data.ts's intuitTime (Pacific time with its offset); kept here so this file imports nothing of data.ts. */
function intuitTime(ms: number): string {
  return `${new Date(ms - 8 * 3_600_000).toISOString().slice(0, -1)}-08:00`;
}

const amount = (seed: string, max: number) => (5_000 + (createHash('sha256').update(seed).digest().readUInt32BE(0) % max)) / 100;
const day = (i: number) => `2026-${String(10 + Math.floor((i % 60) / 30)).padStart(2, '0')}-${String(1 + (i % 30)).padStart(2, '0')}`;

function invoice(realm: string, i: number): Row {
  const total = amount(`qbo-invoice\0${realm}\0${i}`, 300_000);
  const foreign = i % 4 === 0;
  // A third paid, a sixth partly paid, the rest open.
  const balance = i % 3 === 0 ? 0 : i % 6 === 1 ? Math.round(total * 50) / 100 : total;
  return {
    Id: String(100 + i), SyncToken: '0', domain: 'QBO', sparse: false, DocNumber: `I-${1000 + i}`, TxnDate: day(i), DueDate: day(i + 30),
    CustomerRef: { value: String(1 + (i % 5)), name: `Customer ${1 + (i % 5)}` },
    CurrencyRef: foreign ? { value: 'EUR', name: 'Euro' } : { value: 'USD', name: 'United States Dollar' },
    ...(foreign ? { ExchangeRate: 1.08 } : {}),
    TotalAmt: total, Balance: balance, Line: [], MetaData: { CreateTime: CREATED, LastUpdatedTime: intuitTime(ORIGIN + i * HOUR) },
  };
}

function bill(realm: string, i: number): Row {
  const total = amount(`qbo-bill\0${realm}\0${i}`, 200_000);
  return {
    Id: String(500 + i), SyncToken: '0', domain: 'QBO', sparse: false, DocNumber: `B-${200 + i}`, TxnDate: day(i), DueDate: day(i + 30),
    VendorRef: { value: String(50 + (i % 3)), name: `Supplier ${1 + (i % 3)}` }, APAccountRef: { value: '33', name: 'Accounts Payable (A/P)' },
    CurrencyRef: { value: 'USD', name: 'United States Dollar' }, TotalAmt: total, Balance: i % 2 ? total : 0, Line: [],
    MetaData: { CreateTime: CREATED, LastUpdatedTime: intuitTime(ORIGIN + i * HOUR + 30 * 60_000) },
  };
}

const realms = new Map<string, { invoices: Row[]; bills: Row[] }>();
function booksOf(realm: string) {
  let books = realms.get(realm);
  if (!books) {
    books = {
      invoices: Array.from({ length: QBO_INVOICES_PER_REALM }, (_, i) => invoice(realm, i)),
      bills: Array.from({ length: QBO_BILLS_PER_REALM }, (_, i) => bill(realm, i)),
    };
    realms.set(realm, books);
  }
  return books;
}

export const qboInvoices = (realm: string): Row[] => booksOf(realm).invoices;
export const qboBills = (realm: string): Row[] => booksOf(realm).bills;

/**
 * A bookkeeper's changes to a company's invoices and bills (tests, `npm run demo`): a payment
 * received or made (Balance to 0), or a transaction deleted (the query endpoint stops returning
 * it; Intuit reports it only through CDC). False when the company has no such transaction.
 */
export const quickbooksBooks = {
  invoices: (realm: string) => structuredClone(qboInvoices(realm)),
  bills: (realm: string) => structuredClone(qboBills(realm)),
  pay(realm: string, entity: 'invoice' | 'bill', id: string, at = new Date()): boolean {
    const row = (entity === 'invoice' ? qboInvoices(realm) : qboBills(realm)).find((r) => r.Id === id);
    if (!row) return false;
    row.Balance = 0;
    row.SyncToken = String(Number(row.SyncToken) + 1);
    row.MetaData = { ...(row.MetaData as Row), LastUpdatedTime: intuitTime(at.getTime()) };
    return true;
  },
  remove(realm: string, entity: 'invoice' | 'bill', id: string): boolean {
    const rows = entity === 'invoice' ? qboInvoices(realm) : qboBills(realm);
    const at = rows.findIndex((r) => r.Id === id);
    if (at < 0) return false;
    rows.splice(at, 1);
    return true;
  },
};
