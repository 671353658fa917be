import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ActionCall, type ActionDefinition, ActionError, type SyncAnswer } from '../adapter.js';

/**
 * QuickBooks Online's ExchangeRate entity: the rate of one foreign currency into the company's
 * home currency on one date ("number of home currency units it takes to equal one foreign
 * currency unit"). Read with `GET /v3/company/{realm}/exchangerate?sourcecurrencycode=&asofdate=`
 * (its SyncToken), then written with `POST /v3/company/{realm}/exchangerate` carrying that
 * SyncToken (optimistic locking: a stale one is fault 5010). Only multicurrency companies have
 * exchange rates; the home currency itself cannot be given a rate.
 * https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/exchangerate
 * https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-multiple-currencies
 */

const CURRENCY = z.string().regex(/^[A-Z]{3}$/);
const ExchangeRateInput = z.strictObject({
  currency: CURRENCY.describe('SourceCurrencyCode: the foreign currency'),
  date: z.iso.date().describe('AsOfDate (a date that exists)'),
  /** Home currency units per one unit of `currency`. */
  rate: z.number().positive().finite().max(1e9),
  /** When given, the company's home currency must be this one (TargetCurrencyCode), or nothing is written. */
  homeCurrency: CURRENCY.optional(),
});
type ExchangeRateInput = z.infer<typeof ExchangeRateInput>;

const Answer = z.looseObject({
  ExchangeRate: z.looseObject({ SyncToken: z.string(), SourceCurrencyCode: z.string(), TargetCurrencyCode: z.string(), Rate: z.number(), AsOfDate: z.string() }),
});
const Fault = z.looseObject({ Fault: z.looseObject({ Error: z.array(z.looseObject({ code: z.string() })).min(1) }) });

/** A stable code for an answer that is not a success: Intuit's fault code, else the HTTP status. */
function failure(a: SyncAnswer): ActionError {
  const fault = Fault.safeParse(a.body);
  if (fault.success && /^[0-9]{1,6}$/.test(fault.data.Fault.Error[0]!.code)) {
    // A Fault is Intuit's own answer, and what it replays for this requestid from now on.
    return new ActionError(`quickbooks_${fault.data.Fault.Error[0]!.code}`, 'QuickBooks refused the exchange rate', { refused: true });
  }
  return new ActionError(`http_${a.status}`, 'QuickBooks answered with an error');
}

function rateOf(a: SyncAnswer) {
  if (a.status !== 200) throw failure(a);
  const parsed = Answer.safeParse(a.body);
  if (!parsed.success) throw new ActionError('unexpected_answer', 'QuickBooks answered in an unexpected shape');
  return parsed.data.ExchangeRate;
}

const realmOf = (config: Readonly<Record<string, string>>) => {
  const realm = config.realmId ?? '';
  if (!/^[0-9]{1,32}$/.test(realm)) throw new ActionError('no_realm', 'The connection does not name its QuickBooks company');
  return realm;
};

async function read(call: ActionCall, realm: string, input: ExchangeRateInput) {
  const q = new URLSearchParams({ sourcecurrencycode: input.currency, asofdate: input.date });
  return rateOf(await call(`/v3/company/${realm}/exchangerate?${q}`));
}

/**
 * `requestid` makes a retried POST idempotent at Intuit (it answers the first response again);
 * at most 50 characters, unique per company. `key` is the runner's provider-facing key (caller's
 * key, input hash, send attempt); `attempt` the re-read after a stale SyncToken within one send.
 * https://blogs.intuit.com/2015/04/06/15346/ (Request ID update for QuickBooks Online integration)
 */
const requestIdOf = (key: string, attempt: number) => createHash('sha256').update(`${key}\u0000${attempt}`).digest('hex').slice(0, 40);

export const exchangeRateAction: ActionDefinition<ExchangeRateInput> = {
  input: ExchangeRateInput,
  async perform({ input, call, idempotencyKey, config }) {
    const realm = realmOf(config);
    // Someone may write between our read and our write (stale SyncToken, 5010): read again once.
    for (let attempt = 0; ; attempt++) {
      const current = await read(call, realm, input);
      const home = current.TargetCurrencyCode;
      if (input.homeCurrency && home !== input.homeCurrency) throw new ActionError('home_currency_changed', "The company's home currency is not the one the rate was computed for");
      if (home === input.currency) throw new ActionError('home_currency', 'The home currency has no exchange rate');
      const answer = await call(`/v3/company/${realm}/exchangerate?requestid=${requestIdOf(idempotencyKey, attempt)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ SourceCurrencyCode: input.currency, TargetCurrencyCode: home, Rate: input.rate, AsOfDate: input.date, SyncToken: current.SyncToken }),
      });
      if (attempt === 0 && answer.status === 400 && failure(answer).code === 'quickbooks_5010') continue;
      const written = rateOf(answer);
      return { currency: written.SourceCurrencyCode, homeCurrency: written.TargetCurrencyCode, date: written.AsOfDate, rate: written.Rate, syncToken: written.SyncToken };
    }
  },
};
