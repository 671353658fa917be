import type { HeaderReader, ProviderAdapter, RateSignal } from '../adapter.js';
import { remainingCalls } from '../shared/rate-signals.js';

/**
 * Every answer states the request limit and the requests left before it is reached
 * (x-ratelimit-limit-requests, x-ratelimit-remaining-requests; the limit is the key's
 * requests per minute for the model called, which follows the usage tier):
 * https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
 */
export const openaiRateSignals = (header: HeaderReader): RateSignal[] =>
  remainingCalls(header, 'minute', { remaining: 'x-ratelimit-remaining-requests', limit: 'x-ratelimit-limit-requests' });

export const openai: ProviderAdapter = { id: 'openai', rateSignals: openaiRateSignals };
