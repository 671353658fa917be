import { z } from 'zod';
import { type SyncDefinition, SyncReadError } from '../adapter.js';

/**
 * The query endpoint's largest page: `STARTPOSITION` (1-based) and `MAXRESULTS` (at most 1000).
 * https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
 */
const PAGE_SIZE = 1000;

/**
 * An invoice or bill as the query endpoint returns it; only the fields Keyhold relies on are named.
 * `Balance` is what is still owed, in the transaction's currency; `ExchangeRate` (home-currency
 * units per unit of it) is present on foreign-currency transactions.
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/bill
 */
const Transaction = z.looseObject({
  Id: z.string().min(1),
  Balance: z.number(),
  TotalAmt: z.number(),
  CurrencyRef: z.looseObject({ value: z.string() }).optional(),
  ExchangeRate: z.number().positive().optional(),
  MetaData: z.looseObject({ LastUpdatedTime: z.string().refine((v) => !Number.isNaN(Date.parse(v))) }),
});

/** `2026-11-20T18:00:00+00:00`: the query language's date-time (ISO 8601 with an offset). */
const queryTime = (iso: string) => `${iso.slice(0, 19)}+00:00`;

/**
 * One entity of a QuickBooks company (realm), full or changed since a checkpoint:
 * `WHERE MetaData.LastUpdatedTime >= '…'` (inclusive: a record changed in the checkpoint's very
 * second is read again, not skipped; unchanged ones are not rewritten). Ordered by Id, which
 * never changes. The query endpoint does not list deleted transactions: a full run finds them
 * (Change Data Capture would report them, and is not used).
 */
function transactions(entity: 'Invoice' | 'Bill', model: string): SyncDefinition {
  return {
    model,
    schema: Transaction,
    incremental: true,
    defaultFrequencyMinutes: 60,
    // STARTPOSITION: an invoice deleted on a page already read moves the next one onto that page.
    offsetPaging: true,
    async fetchPage({ page, checkpoint, call, config }) {
      const realm = config.realmId;
      if (!realm || !/^[0-9]+$/.test(realm)) throw new SyncReadError('config_missing', 'The QuickBooks connection has no company (realm) id');
      const start = page === null ? 1 : Number(page);
      const where = checkpoint === null ? '' : ` WHERE MetaData.LastUpdatedTime >= '${queryTime(checkpoint)}'`;
      const query = `SELECT * FROM ${entity}${where} ORDERBY Id STARTPOSITION ${start} MAXRESULTS ${PAGE_SIZE}`;
      const answer = await call(`/v3/company/${realm}/query?${new URLSearchParams({ query, minorversion: '75' })}`);
      if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `QuickBooks answered ${answer.status} to a ${entity} query`);
      const response = (answer.body as { QueryResponse?: Record<string, unknown> } | null)?.QueryResponse;
      if (!response || typeof response !== 'object') throw new SyncReadError('malformed_answer', `QuickBooks answered a ${entity} query without QueryResponse`);
      // An empty result is an empty QueryResponse (no entity key at all).
      const rows = (response[entity] ?? []) as Array<Record<string, unknown>>;
      if (!Array.isArray(rows)) throw new SyncReadError('malformed_answer', `QuickBooks answered a ${entity} query with no list`);
      return { records: rows.map((r) => ({ id: String(r.Id), data: r })), next: rows.length === PAGE_SIZE ? String(start + PAGE_SIZE) : null };
    },
    checkpointOf: (row) => new Date(String((row.MetaData as { LastUpdatedTime: string }).LastUpdatedTime)).toISOString(),
  };
}

export const quickbooksInvoices = transactions('Invoice', 'quickbooks_invoices');
export const quickbooksBills = transactions('Bill', 'quickbooks_bills');
