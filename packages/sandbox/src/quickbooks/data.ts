import { randomUUID } from 'node:crypto';
import type { Reply } from '../providers.js';
import { json } from '../oauth/http.js';
import { qboBills, qboInvoices } from './transactions.js';

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

function exchangeRate(source: string, asOf: string): Row {
  return { SyncToken: '0', domain: 'QBO', AsOfDate: asOf, SourceCurrencyCode: source, Rate: RATES[source], sparse: false, TargetCurrencyCode: HOME_CURRENCY, MetaData: { LastUpdatedTime: meta.LastUpdatedTime } };
}

const ENTITIES: Record<string, { name: string; rows: (realm: string) => Row[] }> = {
  invoice: { name: 'Invoice', rows: qboInvoices },
  bill: { name: 'Bill', rows: qboBills },
  exchangerate: { name: 'ExchangeRate', rows: () => Object.keys(RATES).map((c) => exchangeRate(c, '2026-11-22')) },
};

const fault = (now: number, message: string, detail: string, code: string): Reply =>
  json(400, { Fault: { Error: [{ Message: message, Detail: detail, code }], type: 'ValidationFault' }, time: intuitTime(now) });
const parseError = (now: number, detail: string) => fault(now, 'Error parsing query', `QueryParserError: ${detail}`, '4000');

// select * | count(*) from <entity> [where …] [orderby …] [startposition n] [maxresults n]; keywords in any case.
const QUERY = /^\s*select\s+(\*|count\(\*\))\s+from\s+(\w+)(?:\s+where\s+(.+?))?(?:\s+orderby\s+[\w.]+(?:\s+(?:asc|desc))?)?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$/is;
const CLAUSE = /^([\w.]+)\s*(<=|>=|=|<|>|\bin\b|\blike\b)\s*(.+)$/is;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
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
    // Date-times compare as instants whatever their offsets (LastUpdatedTime is Pacific time, a client may send UTC).
    const cmp = (a: unknown, b: string) => (typeof a === 'number' ? a - Number(b) : DATE_TIME.test(String(a)) && DATE_TIME.test(b) ? Date.parse(String(a)) - Date.parse(b) : String(a ?? '').localeCompare(b));
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
export function quickbooksQuery(realm: string, query: string, now: number): Reply {
  const m = QUERY.exec(query);
  if (!m) return parseError(now, `Encountered an unexpected token in: ${query.slice(0, 80)}`);
  const [, what, entityName, where, start, max] = m;
  const entity = ENTITIES[entityName!.toLowerCase()];
  if (!entity) return parseError(now, `Invalid context declaration : ${entityName}`);
  const keep = where ? matcher(where) : () => true;
  if (!keep) return parseError(now, `Invalid where clause: ${where!.slice(0, 80)}`);
  const rows = entity.rows(realm).filter(keep);
  if (what !== '*') return json(200, { QueryResponse: { totalCount: rows.length }, time: intuitTime(now) });
  // STARTPOSITION is 1-based; MAXRESULTS is capped at 1000.
  const from = Math.max(1, Number(start ?? 1));
  const page = rows.slice(from - 1, from - 1 + Math.min(1000, Number(max ?? 100)));
  if (page.length === 0) return json(200, { QueryResponse: {}, time: intuitTime(now) });
  return json(200, { QueryResponse: { [entity.name]: page, startPosition: from, maxResults: page.length }, time: intuitTime(now) });
}
