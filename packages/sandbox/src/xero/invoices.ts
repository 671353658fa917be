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
 * https://cdn.cdata.com/help/DXM/py/RSBXero_p_Pagesize.htm).
 */
export const XERO_PROVIDER_NAME = 'Keyhold sandbox';
const DAY = 86_400_000;
/** Invoices of each organisation in the sandbox; their UpdatedDateUTC are a day apart, oldest first. */
export const XERO_INVOICES_PER_ORG = 6;
const ORIGIN = Date.UTC(2026, 9, 1);
const STATUSES = ['AUTHORISED', 'SUBMITTED', 'PAID', 'AUTHORISED', 'DRAFT', 'VOIDED'] as const;

/** Xero's JSON date: `/Date(1539993600000+0000)/` (the wrapper's DateTimeUTC has no offset). */
export const msDate = (ms: number, offset = true) => `/Date(${ms}${offset ? '+0000' : ''})/`;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 19);

type Invoice = Record<string, unknown> & { Type: string; Status: string; updatedMs: number };

function invoicesOf(tenantId: string): Invoice[] {
  return Array.from({ length: XERO_INVOICES_PER_ORG }, (_, i) => {
    const date = ORIGIN + i * DAY;
    const due = date + 30 * DAY;
    const updatedMs = date + 3_600_000;
    const status = STATUSES[i % STATUSES.length]!;
    const total = 120 * (i + 1);
    const paid = status === 'PAID' ? total : 0;
    return {
      Type: i % 2 ? 'ACCPAY' : 'ACCREC',
      InvoiceID: uuidFrom(createHash('sha256').update(`xero-invoice\0${tenantId}\0${i}`).digest()),
      InvoiceNumber: `INV-${1000 + i}`,
      Reference: '',
      Payments: [], CreditNotes: [], Prepayments: [], Overpayments: [],
      AmountDue: total - paid, AmountPaid: paid, AmountCredited: 0,
      CurrencyRate: 1, IsDiscounted: false, HasAttachments: false, HasErrors: false,
      Contact: { ContactID: uuidFrom(createHash('sha256').update(`xero-contact\0${tenantId}\0${i % 3}`).digest()), Name: i % 2 ? `Supplier ${i % 3}` : `Customer ${i % 3}` },
      DateString: isoDay(date), Date: msDate(date),
      DueDateString: isoDay(due), DueDate: msDate(due),
      Status: status, LineAmountTypes: 'Exclusive', LineItems: [],
      SubTotal: 100 * (i + 1), TotalTax: 20 * (i + 1), Total: total,
      UpdatedDateUTC: msDate(updatedMs),
      CurrencyCode: 'AUD',
      ...(status === 'PAID' ? { FullyPaidOnDate: msDate(due - 5 * DAY) } : {}),
      updatedMs,
    };
  });
}

/** Xero's answer to a `where` it cannot parse. */
const queryError = (message: string): Reply => ({ status: 400, body: { ErrorNumber: 16, Type: 'QueryParseException', Message: message } });

const FIELDS: Record<string, (x: Invoice) => string | number> = {
  Type: (x) => x.Type, Status: (x) => x.Status, InvoiceNumber: (x) => String(x.InvoiceNumber),
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
      Invoices: list.map(({ updatedMs: _, ...x }) => x),
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
