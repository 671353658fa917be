import { z } from 'zod';
import { type SyncDefinition, SyncReadError } from '../adapter.js';

/**
 * Xero's largest list page: `page` with `pageSize` (1–1000; 100 when absent), and `pagination` in
 * every paged answer. https://developer.xero.com/documentation/api/accounting/invoices
 * (GET Invoices: page, pageSize, order, If-Modified-Since) and
 * https://developer.xero.com/documentation/best-practices/integration-health/paging
 * The largest page spends the fewest of an organisation's 5,000 daily calls on a full run.
 */
const PAGE_SIZE = 1000;

/** Xero's .NET JSON date, `/Date(1539993600000+0000)/`. */
const DOTNET_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

/**
 * A sales invoice (ACCREC) or bill (ACCPAY) as GET Invoices returns it; only the fields Keyhold
 * relies on are named. Amounts are in the invoice's currency; `CurrencyRate` converts them to the
 * organisation's base currency (base = amount ÷ rate).
 */
const Invoice = z.looseObject({
  InvoiceID: z.string().min(1),
  Type: z.enum(['ACCREC', 'ACCPAY']),
  Status: z.string(),
  AmountDue: z.number(),
  Total: z.number(),
  CurrencyCode: z.string(),
  CurrencyRate: z.number().positive().optional(),
  UpdatedDateUTC: z.string().regex(DOTNET_DATE),
  DueDate: z.string().optional(),
});

/** The epoch milliseconds of a Xero JSON date (UTC; the offset Xero appends is always +0000). */
export function xeroDateMs(value: string): number {
  const m = DOTNET_DATE.exec(value);
  if (!m) throw new SyncReadError('record_schema', 'A Xero date is not in /Date(ms)/ form');
  return Number(m[1]);
}

/**
 * Xero invoices and bills, full or changed since a checkpoint: `If-Modified-Since` (UTC,
 * `yyyy-mm-ddThh:mm:ss`; Xero returns what was created or modified since, deleted and voided
 * invoices included). Ordered by InvoiceID, which never changes: ordered by UpdatedDateUTC, an
 * invoice changed during the run would move to the end and shift an unread one onto a page
 * already read. A deleted invoice stays listed with status DELETED: the reader reports it as
 * deleted (both run modes); a VOIDED one is kept, with nothing due.
 */
export const xeroInvoices: SyncDefinition = {
  model: 'xero_invoices',
  schema: Invoice,
  incremental: true,
  defaultFrequencyMinutes: 60,
  // Every incremental run lists deleted invoices (status DELETED): full runs only as a weekly check.
  fullRunEveryHours: 7 * 24,
  async fetchPage({ page, checkpoint, call }) {
    const n = page === null ? 1 : Number(page);
    const q = new URLSearchParams({ page: String(n), pageSize: String(PAGE_SIZE), order: 'InvoiceID ASC' });
    const headers = checkpoint === null ? undefined : { 'If-Modified-Since': checkpoint.slice(0, 19) };
    const answer = await call(`/api.xro/2.0/Invoices?${q}`, headers ? { headers } : undefined);
    // Nothing changed since the checkpoint (a conditional GET may say so with 304).
    if (answer.status === 304) return { records: [], next: null };
    if (answer.status !== 200) throw new SyncReadError(`http_${answer.status}`, `Xero answered ${answer.status} to an invoices page`);
    const body = answer.body as { Invoices?: unknown; pagination?: { pageCount?: unknown } } | null;
    if (!Array.isArray(body?.Invoices)) throw new SyncReadError('malformed_answer', 'Xero answered an invoices page without invoices');
    const invoices = body.Invoices as Array<Record<string, unknown>>;
    const records = invoices.filter((i) => i.Status !== 'DELETED').map((i) => ({ id: String(i.InvoiceID), data: i }));
    const deleted = invoices.filter((i) => i.Status === 'DELETED').map((i) => String(i.InvoiceID));
    const pageCount = typeof body.pagination?.pageCount === 'number' ? body.pagination.pageCount : null;
    const more = pageCount !== null ? n < pageCount : invoices.length === PAGE_SIZE;
    return { records, deleted, next: more ? String(n + 1) : null };
  },
  checkpointOf: (invoice) => new Date(xeroDateMs(String(invoice.UpdatedDateUTC))).toISOString(),
};
