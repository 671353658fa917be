import { randomUUID } from 'node:crypto';
import type { Reply } from '../providers.js';
import { json } from '../oauth/http.js';

/**
 * The QuickBooks Online data Keyhold's syncs read: invoices, bills and exchange rates, through the
 * query endpoint (per-company exchange rates, read and written: exchange-rates.ts), in Intuit's shapes
 * (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries,
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/exchangerate).
 */

/** Intuit stamps every answer with a transaction id its support asks for (intuit-oauth reads `intuit_tid`). */
export const intuitHeaders = () => ({ intuit_tid: randomUUID() });

/** Intuit's `time` is ISO 8601 in Pacific time with its offset, e.g. `2015-07-24T09:34:36.143-07:00`. */
export function intuitTime(ms: number): string {
  return `${new Date(ms - 8 * 3_600_000).toISOString().slice(0, -1)}-08:00`;
}

type Row = Record<string, unknown>;
const HOME_CURRENCY = 'USD';
const RATES: Record<string, number> = { EUR: 1.08, GBP: 1.27, CAD: 0.73, AUD: 0.66 };
const meta = { CreateTime: '2026-10-01T09:00:00-07:00', LastUpdatedTime: '2026-11-20T10:00:00-08:00' };

function invoices(): Row[] {
  return Array.from({ length: 30 }, (_, i) => ({
    Id: String(100 + i), SyncToken: '0', domain: 'QBO', sparse: false, DocNumber: `I-${1000 + i}`, TxnDate: '2026-11-01', DueDate: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}`,
    CustomerRef: { value: String(1 + (i % 5)), name: `Customer ${1 + (i % 5)}` }, CurrencyRef: { value: i % 4 === 0 ? 'EUR' : HOME_CURRENCY, name: i % 4 === 0 ? 'Euro' : 'United States Dollar' },
    TotalAmt: 75 * (i + 1), Balance: i % 3 === 0 ? 0 : 50 * (i + 1), Line: [], MetaData: meta,
  }));
}

function bills(): Row[] {
  return Array.from({ length: 12 }, (_, i) => ({
    Id: String(500 + i), SyncToken: '0', domain: 'QBO', sparse: false, DocNumber: `B-${200 + i}`, TxnDate: '2026-11-02', DueDate: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}`,
    VendorRef: { value: String(50 + (i % 3)), name: `Supplier ${1 + (i % 3)}` }, APAccountRef: { value: '33', name: 'Accounts Payable (A/P)' },
    CurrencyRef: { value: HOME_CURRENCY, name: 'United States Dollar' }, TotalAmt: 40 * (i + 1), Balance: i % 2 ? 40 * (i + 1) : 0, Line: [], MetaData: meta,
  }));
}

function exchangeRate(source: string, asOf: string): Row {
  return { SyncToken: '0', domain: 'QBO', AsOfDate: asOf, SourceCurrencyCode: source, Rate: RATES[source], sparse: false, TargetCurrencyCode: HOME_CURRENCY, MetaData: { LastUpdatedTime: meta.LastUpdatedTime } };
}

const ENTITIES: Record<string, { name: string; rows: () => Row[] }> = {
  invoice: { name: 'Invoice', rows: invoices },
  bill: { name: 'Bill', rows: bills },
  exchangerate: { name: 'ExchangeRate', rows: () => Object.keys(RATES).map((c) => exchangeRate(c, '2026-11-22')) },
};

const fault = (now: number, message: string, detail: string, code: string): Reply =>
  json(400, { Fault: { Error: [{ Message: message, Detail: detail, code }], type: 'ValidationFault' }, time: intuitTime(now) });
const parseError = (now: number, detail: string) => fault(now, 'Error parsing query', `QueryParserError: ${detail}`, '4000');

// select * | count(*) from <entity> [where …] [orderby …] [startposition n] [maxresults n]; keywords in any case.
const QUERY = /^\s*select\s+(\*|count\(\*\))\s+from\s+(\w+)(?:\s+where\s+(.+?))?(?:\s+orderby\s+[\w.]+(?:\s+(?:asc|desc))?)?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$/is;
const CLAUSE = /^([\w.]+)\s*(<=|>=|=|<|>|\bin\b|\blike\b)\s*(.+)$/is;

const unquote = (v: string) => v.trim().replace(/^'(.*)'$/s, '$1').replace(/\\'/g, "'");
const field = (row: Row, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => {
    if (!o || typeof o !== 'object') return undefined;
    const key = Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase());
    return key === undefined ? undefined : (o as Row)[key];
  }, row);

function matcher(where: string): ((row: Row) => boolean) | null {
  const tests: Array<(row: Row) => boolean> = [];
  for (const part of where.split(/\s+and\s+/i)) {
    const m = CLAUSE.exec(part.trim());
    if (!m) return null;
    const [, path, rawOp, rawValue] = m;
    const op = rawOp!.toLowerCase();
    const values = op === 'in' ? rawValue!.trim().replace(/^\((.*)\)$/s, '$1').split(',').map(unquote) : [unquote(rawValue!)];
    const cmp = (a: unknown, b: string) => (typeof a === 'number' ? a - Number(b) : String(a ?? '').localeCompare(b));
    tests.push((row) => {
      const v = field(row, path!);
      const ref = (v && typeof v === 'object' && 'value' in v ? (v as Row).value : v) as unknown;
      switch (op) {
        case 'in': return values.includes(String(ref));
        case 'like': return new RegExp(`^${values[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, 'i').test(String(ref ?? ''));
        case '=': return cmp(ref, values[0]!) === 0;
        case '<': return cmp(ref, values[0]!) < 0;
        case '>': return cmp(ref, values[0]!) > 0;
        case '<=': return cmp(ref, values[0]!) <= 0;
        default: return cmp(ref, values[0]!) >= 0;
      }
    });
  }
  return (row) => tests.every((t) => t(row));
}

/** `GET /v3/company/{realm}/query?query=…` */
export function quickbooksQuery(query: string, now: number): Reply {
  const m = QUERY.exec(query);
  if (!m) return parseError(now, `Encountered an unexpected token in: ${query.slice(0, 80)}`);
  const [, what, entityName, where, start, max] = m;
  const entity = ENTITIES[entityName!.toLowerCase()];
  if (!entity) return parseError(now, `Invalid context declaration : ${entityName}`);
  const keep = where ? matcher(where) : () => true;
  if (!keep) return parseError(now, `Invalid where clause: ${where!.slice(0, 80)}`);
  const rows = entity.rows().filter(keep);
  if (what !== '*') return json(200, { QueryResponse: { totalCount: rows.length }, time: intuitTime(now) });
  // STARTPOSITION is 1-based; MAXRESULTS is capped at 1000.
  const from = Math.max(1, Number(start ?? 1));
  const page = rows.slice(from - 1, from - 1 + Math.min(1000, Number(max ?? 100)));
  if (page.length === 0) return json(200, { QueryResponse: {}, time: intuitTime(now) });
  return json(200, { QueryResponse: { [entity.name]: page, startPosition: from, maxResults: page.length }, time: intuitTime(now) });
}
