import type { Reply } from '../providers.js';
import { uuidFrom } from '../oauth/ids.js';
import { createHash } from 'node:crypto';

/**
 * GET /api.xro/2.0/Invoices as Xero answers it: the reply wrapper (`Id`, `Status: "OK"`,
 * `ProviderName`, `DateTimeUTC`), `pagination`, and .NET JSON dates — `/Date(ms)/` for the
 * wrapper's DateTimeUTC, `/Date(ms+0000)/` for Date, DueDate, UpdatedDateUTC and FullyPaidOnDate,
 * next to ISO `DateString`/`DueDateString` (the example reply of getInvoices in Xero's OpenAPI
 * document: https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero_accounting.yaml and
 * https://developer.xero.com/documentation/api/accounting/invoices).
 *
 * Filters Keyhold's syncs use: `where` (`Type=="ACCREC"`, `Status=="AUTHORISED"`, joined by
 * AND), `Statuses`, `order` (a field, ASC/DESC), the `If-Modified-Since` header (records created
 * or modified since then), and paging: `page` (1-based) with `pageSize` (default 100, at most
 * 1000: https://developer.xero.com/faq/limits/retrieving-data,
 * https://cdn.cdata.com/help/DXM/py/RSBXero_p_Pagesize.htm). Without `page` every invoice comes
 * in one answer.
 *
 * Each organisation has the same deterministic data set of XERO_INVOICES_PER_ORG invoices
 * (derived from its id), which tests change through `xeroInvoiceStore` as a bookkeeper would:
 * pay, void (an approved invoice: status VOIDED, nothing due) or delete (a draft or submitted
 * one: status DELETED, as Xero keeps listing it). Every change moves UpdatedDateUTC.
 */
export const XERO_PROVIDER_NAME = 'Keyhold sandbox';
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Invoices of each organisation in the sandbox; their UpdatedDateUTC are an hour apart, oldest first. */
export const XERO_INVOICES_PER_ORG = 520;
const ORIGIN = Date.UTC(2026, 9, 1);
/** Status by index (mod 8): drafts and deleted ones have amounts due that are not receivable. */
const STATUSES = ['AUTHORISED', 'SUBMITTED', 'PAID', 'AUTHORISED', 'DRAFT', 'VOIDED', 'AUTHORISED', 'DELETED'] as const;
/** Every tenth invoice is in US dollars; CurrencyRate is units of USD per AUD (the organisation's base currency). */
const USD_RATE = 0.65;

/** Xero's JSON date: `/Date(1539993600000+0000)/` (the wrapper's DateTimeUTC has no offset). */
export const msDate = (ms: number, offset = true) => `/Date(${ms}${offset ? '+0000' : ''})/`;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const cents = (c: number) => Math.round(c) / 100;

type Invoice = Record<string, unknown> & { InvoiceID: string; Type: string; Status: string; updatedMs: number; totalCents: number; paidCents: number };

function makeInvoice(org: string, i: number): Invoice {
  const h = createHash('sha256').update(`xero-invoice\0${org}\0${i}`).digest();
  const date = ORIGIN + (i % 60) * DAY;
  const due = date + 30 * DAY;
  const status = STATUSES[i % STATUSES.length]!;
  const subCents = 5_000 + (h.readUInt32BE(0) % 500_000);
  const taxCents = Math.round(subCents / 10);
  const totalCents = subCents + taxCents;
  const paidCents = status === 'PAID' ? totalCents : status === 'AUTHORISED' && i % 5 === 0 ? Math.round(totalCents / 4) : 0;
  const foreign = i % 10 === 9;
  return {
    Type: i % 3 === 1 ? 'ACCPAY' : 'ACCREC',
    InvoiceID: uuidFrom(h),
    InvoiceNumber: `INV-${1000 + i}`,
    Reference: '',
    Payments: [], CreditNotes: [], Prepayments: [], Overpayments: [],
    AmountCredited: 0,
    CurrencyRate: foreign ? USD_RATE : 1, IsDiscounted: false, HasAttachments: false, HasErrors: false,
    Contact: { ContactID: uuidFrom(createHash('sha256').update(`xero-contact\0${org}\0${i % 7}`).digest()), Name: i % 3 === 1 ? `Supplier ${i % 7}` : `Customer ${i % 7}` },
    DateString: isoDay(date), Date: msDate(date),
    DueDateString: isoDay(due), DueDate: msDate(due),
    Status: status, LineAmountTypes: 'Exclusive', LineItems: [],
    SubTotal: cents(subCents), TotalTax: cents(taxCents), Total: cents(totalCents),
    CurrencyCode: foreign ? 'USD' : 'AUD',
    ...(status === 'PAID' ? { FullyPaidOnDate: msDate(due - 5 * DAY) } : {}),
    updatedMs: ORIGIN + HOUR + i * HOUR,
    totalCents, paidCents,
  };
}

const orgs = new Map<string, Invoice[]>();
function invoicesOf(org: string): Invoice[] {
  let list = orgs.get(org);
  if (!list) {
    list = Array.from({ length: XERO_INVOICES_PER_ORG }, (_, i) => makeInvoice(org, i));
    orgs.set(org, list);
  }
  return list;
}

/** The invoice as the API shows it: amounts due follow from status and payments. */
function wire(x: Invoice): Record<string, unknown> {
  const { updatedMs, totalCents, paidCents, ...rest } = x;
  const cancelled = x.Status === 'VOIDED' || x.Status === 'DELETED';
  return {
    ...rest,
    AmountDue: cancelled ? 0 : cents(totalCents - paidCents),
    AmountPaid: cents(paidCents),
    UpdatedDateUTC: msDate(updatedMs),
  };
}

/**
 * A bookkeeper's changes to an organisation's invoices (tests, `npm run demo`). Each returns
 * false when the organisation has no such invoice or Xero would refuse the change.
 */
export const xeroInvoiceStore = {
  /** The organisation's invoices as GET Invoices returns them (oldest change first). */
  list: (org: string) => invoicesOf(org).map(wire),
  /** Pays the rest of an approved invoice: PAID, nothing due. */
  pay(org: string, invoiceId: string, at = new Date()): boolean {
    const x = invoicesOf(org).find((i) => i.InvoiceID === invoiceId);
    if (!x || x.Status !== 'AUTHORISED') return false;
    Object.assign(x, { Status: 'PAID', paidCents: x.totalCents, FullyPaidOnDate: msDate(at.getTime()), updatedMs: at.getTime() });
    return true;
  },
  /** Voids an approved invoice without payments (Xero refuses to void one with payments). */
  void(org: string, invoiceId: string, at = new Date()): boolean {
    const x = invoicesOf(org).find((i) => i.InvoiceID === invoiceId);
    if (!x || x.Status !== 'AUTHORISED' || x.paidCents > 0) return false;
    Object.assign(x, { Status: 'VOIDED', updatedMs: at.getTime() });
    return true;
  },
  /** Deletes a draft or submitted invoice (Xero keeps it, with status DELETED). */
  remove(org: string, invoiceId: string, at = new Date()): boolean {
    const x = invoicesOf(org).find((i) => i.InvoiceID === invoiceId);
    if (!x || (x.Status !== 'DRAFT' && x.Status !== 'SUBMITTED')) return false;
    Object.assign(x, { Status: 'DELETED', updatedMs: at.getTime() });
    return true;
  },
  /** Approves a draft or submitted invoice (AUTHORISED: its amount becomes due). */
  approve(org: string, invoiceId: string, at = new Date()): boolean {
    const x = invoicesOf(org).find((i) => i.InvoiceID === invoiceId);
    if (!x || (x.Status !== 'DRAFT' && x.Status !== 'SUBMITTED')) return false;
    Object.assign(x, { Status: 'AUTHORISED', updatedMs: at.getTime() });
    return true;
  },
};

/** `POST /_sandbox/xero/invoices/<InvoiceID>/<pay|void|remove|approve>?tenant=<organisation id>` and `GET /_sandbox/xero/invoices?tenant=`. */
export function xeroControlRoute(method: string, path: string, url: URL): Reply | null {
  const org = url.searchParams.get('tenant') ?? '';
  if (method === 'GET' && path === '/xero/invoices') return { status: 200, body: { Invoices: org ? xeroInvoiceStore.list(org) : [] } };
  const m = /^\/xero\/invoices\/([0-9a-f-]{36})\/(pay|void|remove|approve)$/.exec(path);
  if (!m || method !== 'POST') return null;
  const done = xeroInvoiceStore[m[2] as 'pay' | 'void' | 'remove' | 'approve'](org, m[1]!);
  return done ? { status: 200, body: { Invoices: xeroInvoiceStore.list(org).filter((i) => i.InvoiceID === m[1]) } } : { status: 409, body: { error: 'no such invoice, or not in a state that allows this change' } };
}

/** Xero's answer to a `where` it cannot parse. */
const queryError = (message: string): Reply => ({ status: 400, body: { ErrorNumber: 16, Type: 'QueryParseException', Message: message } });

const FIELDS: Record<string, (x: Invoice) => string | number> = {
  InvoiceID: (x) => x.InvoiceID, Type: (x) => x.Type, Status: (x) => x.Status, InvoiceNumber: (x) => String(x.InvoiceNumber),
  UpdatedDateUTC: (x) => x.updatedMs, Date: (x) => String(x.DateString), DueDate: (x) => String(x.DueDateString),
};

/** `If-Modified-Since`: ISO with or without offset; without one it is UTC (as Xero documents it). */
function since(header: string | undefined): number | null {
  if (!header) return null;
  const withZone = /[zZ]|[+-]\d{2}:?\d{2}$/.test(header) ? header : `${header}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? Date.parse(header) || null : ms;
}

export function xeroInvoices(tenantId: string, url: URL, ifModifiedSince: string | undefined, now: number): Reply {
  let list = invoicesOf(tenantId);
  const where = url.searchParams.get('where');
  if (where) {
    for (const clause of where.split(/\s+(?:AND|&&)\s+/i)) {
      const m = /^\s*(\w+)\s*==\s*"([^"]*)"\s*$/.exec(clause);
      if (!m) return queryError(`Operator not supported in: ${clause}`);
      const get = FIELDS[m[1]!];
      if (!get) return queryError(`No property or field '${m[1]}' exists in type 'Invoice'`);
      list = list.filter((x) => String(get(x)) === m[2]);
    }
  }
  const statuses = url.searchParams.get('Statuses');
  if (statuses) list = list.filter((x) => statuses.split(',').includes(x.Status));
  const after = since(ifModifiedSince);
  if (after !== null) list = list.filter((x) => x.updatedMs >= after);
  const order = url.searchParams.get('order');
  if (order) {
    const [field = '', dir = 'ASC'] = order.trim().split(/\s+/);
    const get = FIELDS[field];
    if (!get) return queryError(`No property or field '${field}' exists in type 'Invoice'`);
    const sign = dir.toUpperCase() === 'DESC' ? -1 : 1;
    list = [...list].sort((a, b) => (get(a) < get(b) ? -sign : get(a) > get(b) ? sign : 0));
  }
  const itemCount = list.length;
  const pageParam = url.searchParams.get('page');
  let pagination = { page: 1, pageSize: itemCount, pageCount: 1, itemCount };
  if (pageParam !== null) {
    const page = Math.max(1, Number.parseInt(pageParam, 10) || 1);
    const pageSize = Math.min(1000, Math.max(1, Number.parseInt(url.searchParams.get('pageSize') ?? '100', 10) || 100));
    list = list.slice((page - 1) * pageSize, page * pageSize);
    pagination = { page, pageSize, pageCount: Math.ceil(itemCount / pageSize), itemCount };
  }
  return {
    status: 200,
    body: {
      Id: uuidFrom(createHash('sha256').update(`reply\0${now}\0${Math.random()}`).digest()),
      Status: 'OK', ProviderName: XERO_PROVIDER_NAME, DateTimeUTC: msDate(now, false),
      pagination,
      Invoices: list.map(wire),
    },
  };
}

/**
 * GET /api.xro/2.0/Organisation: the organisation behind `xero-tenant-id`, in the same wrapper
 * (xero-node's updateTenants() reads it for every tenant). Needs accounting.settings(.read).
 * https://developer.xero.com/documentation/api/accounting/organisation
 */
export function xeroOrganisation(tenantId: string, name: string, now: number): Reply {
  return {
    status: 200,
    body: {
      Id: uuidFrom(createHash('sha256').update(`reply\0${now}\0${Math.random()}`).digest()),
      Status: 'OK', ProviderName: XERO_PROVIDER_NAME, DateTimeUTC: msDate(now, false),
      Organisations: [{
        OrganisationID: tenantId, APIKey: '', Name: name, LegalName: name, PaysTax: true, Version: 'AU', OrganisationType: 'COMPANY',
        BaseCurrency: 'AUD', CountryCode: 'AU', IsDemoCompany: false, OrganisationStatus: 'ACTIVE', FinancialYearEndDay: 30, FinancialYearEndMonth: 6,
        SalesTaxBasis: 'ACCRUALS', SalesTaxPeriod: 'QUARTERLY1', DefaultSalesTax: 'Tax Exclusive', DefaultPurchasesTax: 'Tax Exclusive',
        CreatedDateUTC: msDate(ORIGIN), OrganisationEntityType: 'COMPANY', Timezone: 'AUSEASTERNSTANDARDTIME', ShortCode: `!${tenantId.slice(0, 5)}`,
        Edition: 'BUSINESS', Class: 'STANDARD', Addresses: [], Phones: [], ExternalLinks: [], PaymentTerms: {},
      }],
    },
  };
}
