import { z } from 'zod';

/**
 * Working capital of a tenant from its accounting records (Xero or QuickBooks) and stock records.
 * Amounts are in the accounting company's home currency, to the cent.
 */
export const WorkingCapitalSourceSchema = z.enum(['xero', 'quickbooks']);

export const WorkingCapitalSchema = z.object({
  source: WorkingCapitalSourceSchema,
  connectionId: z.string().uuid().nullable(),
  currency: z.string().nullable().describe("The accounting company's home (base) currency every figure is in; null when its records do not tell it"),
  accountsReceivable: z.number().describe('Amounts due on approved sales invoices (Xero: AUTHORISED/SUBMITTED ACCREC AmountDue; QuickBooks: invoice Balance)'),
  accountsPayable: z.number().describe('Amounts due on approved bills (Xero: AUTHORISED/SUBMITTED ACCPAY AmountDue; QuickBooks: bill Balance)'),
  inventoryValue: z.number().nullable().describe('Stock on hand at cost (Unleashed TotalCost); null without a stock source, or when the stock is not known to be in `currency` (then a `warning` says why)'),
  cashBalance: z.number().nullable().describe('Null while no cash figure is available'),
  workingCapital: z.number().describe('accountsReceivable + inventoryValue − accountsPayable'),
  currentRatio: z.number().nullable().describe('(accountsReceivable + inventoryValue) ÷ accountsPayable; null when nothing is payable'),
  asOf: z.string().describe('When the figures were synced from the provider (ISO 8601)'),
  fromSnapshot: z.boolean().describe('True when the provider could not be reached and this is the last stored daily snapshot'),
  warning: z.string().optional().describe('Set when the data is older than its sync interval or comes from the last stored snapshot'),
});
export type WorkingCapital = z.infer<typeof WorkingCapitalSchema>;

export const WorkingCapitalSnapshotSchema = z.object({
  date: z.string().describe('UTC day, YYYY-MM-DD'),
  source: WorkingCapitalSourceSchema,
  currency: z.string().nullable(),
  accountsReceivable: z.number(),
  accountsPayable: z.number(),
  inventoryValue: z.number().nullable(),
  cashBalance: z.number().nullable(),
  workingCapital: z.number(),
  currentRatio: z.number().nullable(),
  asOf: z.string(),
});
export type WorkingCapitalSnapshot = z.infer<typeof WorkingCapitalSnapshotSchema>;
