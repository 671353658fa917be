/**
 * Which scopes a Xero app may request at the authorize endpoint.
 *
 * Apps created on or after 2 March 2026 get granular scopes only; the broad
 * `accounting.transactions(.read)` and `accounting.reports.read` stay available to apps created
 * before that date until September 2027 (they may mix broad and granular ones):
 * https://developer.xero.com/faq/granular-scopes
 * Scope names: https://developer.xero.com/documentation/guides/oauth2/scopes/ (granular names as
 * published by apps that moved to them, e.g. https://github.com/osodevops/xero-cli/releases/tag/v0.5.0).
 *
 * A scope the app may not request is not redirected back to the app: Xero's login page shows
 * "Error: unauthorized_client : Invalid scope for client"
 * (https://github.com/XeroAPI/xero-python-oauth2-app/issues/14,
 * https://github.com/XeroAPI/xero-ruby/issues/222, https://help.apideck.com/en/articles/8647746).
 */
export const XERO_BROAD_SCOPES = ['accounting.transactions', 'accounting.transactions.read', 'accounting.reports.read'] as const;

const readWrite = (names: string[]) => names.flatMap((n) => [n, `${n}.read`]);

export const XERO_GRANULAR_SCOPES: readonly string[] = [
  'openid', 'profile', 'email', 'offline_access',
  ...readWrite(['accounting.settings', 'accounting.contacts', 'accounting.attachments']),
  ...readWrite(['accounting.invoices', 'accounting.payments', 'accounting.banktransactions', 'accounting.manualjournals']),
  'accounting.journals.read', 'accounting.budgets.read',
  'accounting.reports.profitandloss.read', 'accounting.reports.balancesheet.read', 'accounting.reports.trialbalance.read',
  'accounting.reports.executivesummary.read', 'accounting.reports.tenninetynine.read',
  ...readWrite(['payroll.employees', 'payroll.payruns', 'payroll.payslip', 'payroll.timesheets', 'payroll.settings']),
  ...readWrite(['files', 'assets', 'projects']),
];

const GRANULAR = new Set(XERO_GRANULAR_SCOPES);
const BROAD = new Set<string>(XERO_BROAD_SCOPES);

/** The scopes of `requested` this app may not ask for (empty: the request is fine). */
export function refusedXeroScopes(requested: string, app: { legacyScopes?: boolean }): string[] {
  return requested.split(' ').filter((s) => s !== '' && !GRANULAR.has(s) && !(app.legacyScopes && BROAD.has(s)));
}
