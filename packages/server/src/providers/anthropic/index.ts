import type { HeaderReader, ProviderAdapter, RateSignal } from '../adapter.js';
import { remainingCalls } from '../shared/rate-signals.js';

/**
 * Every answer states the requests-per-minute limit and the requests left before it is reached
 * (anthropic-ratelimit-requests-limit, anthropic-ratelimit-requests-remaining; the limit follows
 * the usage tier and model class): https://docs.anthropic.com/en/api/rate-limits#response-headers
 */
export const anthropicRateSignals = (header: HeaderReader): RateSignal[] =>
  remainingCalls(header, 'minute', { remaining: 'anthropic-ratelimit-requests-remaining', limit: 'anthropic-ratelimit-requests-limit' });

export const anthropic: ProviderAdapter = { id: 'anthropic', rateSignals: anthropicRateSignals };
