import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Keyhold's Prometheus metrics: one registry per server (no global state). Labels are provider
 * ids and status classes only — never a tenant, a connection or anything secret.
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'keyhold_' });
  const proxyRequests = new Counter({ name: 'keyhold_proxy_requests_total', help: 'Requests sent to providers through the proxy, by provider and answer', labelNames: ['provider', 'status'] as const, registers: [registry] });
  const proxyLatency = new Histogram({
    name: 'keyhold_proxy_upstream_seconds',
    help: 'Time to the provider answer headers',
    labelNames: ['provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rateLimited = new Counter({ name: 'keyhold_proxy_rate_limited_total', help: 'Requests held back by a rate limit: source=keyhold (proactive) or provider (its 429)', labelNames: ['provider', 'source'] as const, registers: [registry] });
  const retries = new Counter({ name: 'keyhold_proxy_retries_total', help: 'Retries of idempotent requests and forced token refreshes', labelNames: ['provider', 'reason'] as const, registers: [registry] });
  const breakerOpen = new Gauge({ name: 'keyhold_proxy_breakers_open', help: 'Connections whose circuit breaker is open in this process', labelNames: ['provider'] as const, registers: [registry] });
  const webhooks = new Counter({
    name: 'keyhold_webhooks_total',
    help: 'Inbound provider webhooks by provider and outcome: received, verified, rejected, duplicate, quarantined (events, after a delivery is split)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'keyhold_webhook_deliveries_total',
    help: "Outbound webhook attempts to tenants' endpoints by outcome: delivered, retrying, failed",
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return { registry, webhooks, deliveries, proxyRequests, proxyLatency, rateLimited, retries, breakerOpen };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** 2xx, 4xx… as a label; exact codes would multiply series without telling more. */
export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;
