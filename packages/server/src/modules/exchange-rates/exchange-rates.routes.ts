import { successEnvelope } from '@keyhold/contract';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ok } from '../../platform/http/envelope.js';
import { principalOf } from '../../platform/http/principals.js';
import type { ExchangeRatesService } from './exchange-rates.service.js';

/** A calendar date (YYYY-MM-DD that exists: 2026-02-30 is refused, where Date.parse would roll it over). */
const DateParam = z.iso.date();
const Currency = z.string().regex(/^[A-Z]{3}$/);
const CompanyResult = z.object({
  connection: z.string().uuid(), label: z.string(), company: z.string().nullable(), homeCurrency: z.string().nullable(),
  rates_synced: z.number().int(),
  skipped: z.array(z.string()).optional().describe('Currencies QuickBooks refused as not active in the company (deactivated during the sync)'),
  error: z.string().optional().describe('A stable code, never the provider\'s message'),
});
const SyncOne = CompanyResult.extend({ date: z.string(), rateDate: z.string(), source: z.string() });
const SyncAll = z.object({
  date: z.string(), rateDate: z.string().nullable(), source: z.string().nullable(),
  total: z.number().int(), successful: z.number().int(), failed: z.number().int(), results: z.array(CompanyResult),
});
const Settings = z.object({ connection: z.string().uuid(), label: z.string(), company: z.string().nullable(), enabled: z.boolean(), currencies: z.array(z.string()).nullable() });
const Rate = z.object({
  connection: z.string().uuid(), currency: z.string(), date: z.string(), homeCurrency: z.string(), rate: z.string().describe('Home-currency units per one unit of `currency`'),
  source: z.string(), syncedAt: z.string().nullable(), error: z.string().nullable(),
});
const Status = z.object({
  connection: z.string().uuid(), label: z.string(), company: z.string().nullable(), connectionStatus: z.string(), enabled: z.boolean(),
  lastSyncAt: z.string().nullable(), lastAttemptAt: z.string().nullable(),
  rates: z.object({ total: z.number().int(), synced: z.number().int(), pending: z.number().int() }),
  syncing: z.object({ total: z.number().int(), successful: z.number().int(), failed: z.number().int() }),
});

export function exchangeRatesRoutes(app: FastifyInstance, { exchangeRates }: { exchangeRates: ExchangeRatesService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/api/exchange-rates/sync', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Pushes the day's rates into one QuickBooks company, in its home currency (admin+ with X-MFA-Code; API keys need 'syncs:run')",
      querystring: z.object({ connection: z.string().uuid().describe("The company's QuickBooks connection"), date: DateParam.optional().describe('Default: today (UTC)') }),
      response: { 200: successEnvelope(SyncOne) },
    },
  }, async (req) => ok(await exchangeRates.syncCompany(principalOf(req), req.query.connection, req.query.date)));

  r.post('/api/exchange-rates/sync-all', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Pushes the day's rates into every enabled QuickBooks company; per-company results (admin+ with X-MFA-Code; API keys need 'syncs:run')",
      querystring: z.object({ date: DateParam.optional() }),
      response: { 200: successEnvelope(SyncAll) },
    },
  }, async (req) => ok(await exchangeRates.syncAll(principalOf(req), req.query.date)));

  r.get('/api/exchange-rates', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Rates stored per company, newest date first (member+; API keys need 'records:read')",
      querystring: z.object({ connection: z.string().uuid().optional(), date: DateParam.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
      response: { 200: successEnvelope(z.array(Rate)) },
    },
  }, async (req) => ok(await exchangeRates.rates(principalOf(req), {
    limit: req.query.limit, ...(req.query.connection ? { connectionId: req.query.connection } : {}), ...(req.query.date ? { date: req.query.date } : {}),
  })));

  r.get('/api/exchange-rates/status', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Per company: last sync, rates stored/written/pending, sync attempts (member+; API keys need 'records:read')",
      response: { 200: successEnvelope(z.array(Status)) },
    },
  }, async (req) => ok(await exchangeRates.status(principalOf(req))));

  r.get('/api/exchange-rates/settings', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Per company: whether the daily sync includes it and which currencies (member+; API keys need 'records:read')",
      response: { 200: successEnvelope(z.array(Settings)) },
    },
  }, async (req) => ok(await exchangeRates.getSettings(principalOf(req))));

  r.put('/api/exchange-rates/settings/:connectionId', {
    schema: {
      tags: ['exchange-rates'],
      summary: "Changes one company's settings; `currencies: null` means every currency the source has (admin+; API keys need 'syncs:run')",
      params: z.object({ connectionId: z.string().uuid() }),
      body: z.strictObject({ enabled: z.boolean().optional(), currencies: z.array(Currency).max(200).nullable().optional() }),
      response: { 200: successEnvelope(Settings) },
    },
  }, async (req) => ok(await exchangeRates.putSettings(principalOf(req), req.params.connectionId, req.body)));
}
