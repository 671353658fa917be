import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Clock } from '../../platform/clock.js';
import type { Secret } from '../../platform/crypto/secret.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { Outbox } from '../events/outbox.js';
import type { Vault } from '../vault/vault.service.js';
import { FAILING_DISABLE_MS, RETRY_AFTER_STATUSES, nextDelayMs, parseRetryAfter } from './schedule.js';
import { messageId, standardWebhookHeaders } from './signing.js';
import type { AttemptRow, WebhookEndpointsRepo } from './webhook-endpoints.repo.js';
import { PREVIOUS_SECRET_PURPOSE, SECRET_PURPOSE, plainHttpAllowed, urlHost } from './webhook-endpoints.service.js';

export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;
/** What the attempt log keeps of an answer. */
const SNIPPET_BYTES = 1024;

export type DeliverySenderDeps = {
  repo: WebhookEndpointsRepo;
  tenancy: Tenancy;
  vault: Pick<Vault, 'decrypt'>;
  /** The tenant-URL path of ProviderHttp: SSRF guard, the checked address pinned, keep-alive. */
  http: Pick<ProviderHttp, 'request'>;
  outbox: Pick<Outbox, 'append'>;
  clock: Clock;
  /** Jitter source (tests pin it). */
  random?: () => number;
  /** Longest an attempt may take, connect to last byte read (default 15 s). */
  timeoutMs?: number;
  /** A retry is due in `ms` (the jobs ask for a send then; the minutely run catches it anyway). */
  retryIn?: (ms: number) => void;
  log?: Pick<Logger, 'warn'>;
  metrics?: Pick<Metrics, 'deliveries'>;
};

type Work = { tenantId: string; id: string; endpointId: string; attempt: number; url: string; body: string; secrets: Secret[]; failing: boolean; leaseUntil: number };
type Outcome = { at: Date; status: number | null; error: string | null; response: string | null; retryAfterMs: number | null; latencyMs: number };

const isSuccess = (o: Outcome) => o.status !== null && o.status >= 200 && o.status <= 299;

/** At most 1 KiB of what the endpoint answered, as text Postgres can hold. */
async function readSnippet(body: Readable): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  // Leaving early destroys the stream (that connection is not reused): only for long answers.
  for await (const c of body) {
    chunks.push(c as Buffer);
    n += (c as Buffer).length;
    if (n >= SNIPPET_BYTES) break;
  }
  if (n === 0) return null;
  let s = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8').replaceAll('\u0000', '');
  while (Buffer.byteLength(s) > SNIPPET_BYTES) s = s.slice(0, -1);
  return s;
}

/** A failure as a code: never a message (it could carry whatever the network layer saw). */
function failureKind(err: unknown): string {
  if (err instanceof AppError) return err.code === 'VALIDATION_FAILED' ? 'url_refused' : 'error';
  const e = err as { name?: string; code?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (e.code === 'ECONNREFUSED') return 'connection_refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'dns_failed';
  if (typeof e.code === 'string' && /^[A-Z_]{2,40}$/.test(e.code)) return e.code.toLowerCase();
  return 'network_error';
}

/**
 * Sends due deliveries: takes them in their tenant's transaction (locked, counted, leased), sends
 * each outside any transaction, then records the attempt and what follows from it (delivered, a
 * retry by the schedule, failed, the endpoint disabled) in a transaction of its own.
 */
export function createDeliverySender(deps: DeliverySenderDeps) {
  const { repo, tenancy } = deps;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  // Past the longest attempt with room to record it: a delivery still leased was not lost.
  const leaseMs = 2 * timeoutMs + 5_000;
  /** What an attempt needs left of its lease to start: its longest time and room to record it. */
  const startableMs = timeoutMs + 2_500;
  const random = deps.random ?? Math.random;

  async function disable(tx: TenantTx, tenantId: string, endpointId: string, url: string, reason: 'gone_410' | 'failing_5_days', now: Date) {
    await repo.updateEndpoint(tx, tenantId, endpointId, { enabled: false, disabled_reason: reason, updated_at: now });
    await deps.outbox.append(tx, 'webhook_endpoint.disabled', { endpointId, host: urlHost(url) }, { reason });
    deps.log?.warn({ tenantId, endpointId, host: urlHost(url), reason }, 'webhook endpoint disabled');
  }

  /**
   * Successes wait for the write that records them; those arriving while a write is under way go
   * together in the next (one statement per tenant), so a busy sender writes few, larger batches.
   */
  const delivered = (() => {
    let queue: Array<{ a: AttemptRow; resolve: () => void; reject: (err: unknown) => void }> = [];
    let writing = false;
    async function pump() {
      if (writing) return;
      writing = true;
      try {
        while (queue.length > 0) {
          const items = queue;
          queue = [];
          const byTenant = new Map<string, typeof items>();
          for (const it of items) byTenant.set(it.a.tenant_id, [...(byTenant.get(it.a.tenant_id) ?? []), it]);
          await Promise.all([...byTenant].map(([tenantId, group]) =>
            repo.recordDelivered(tenantId, group.map((g) => g.a), deps.clock()).then(
              () => group.forEach((g) => g.resolve()),
              (err: unknown) => group.forEach((g) => g.reject(err)),
            )));
        }
      } finally {
        writing = false;
      }
    }
    return {
      add: (a: AttemptRow) => new Promise<void>((resolve, reject) => {
        queue.push({ a, resolve, reject });
        void pump();
      }),
    };
  })();

  /** Due deliveries, taken: locked, their attempt counted, leased past the longest attempt. */
  async function take(limit: number): Promise<Work[]> {
    const now = deps.clock();
    // More candidates than wanted: those another sender holds are skipped, not waited for.
    const due = await repo.due(now, limit * 4);
    const byTenant = new Map<string, string[]>();
    for (const d of due) byTenant.set(d.tenantId, [...(byTenant.get(d.tenantId) ?? []), d.id]);
    const work: Work[] = [];
    let wanted = limit;
    for (const [tenantId, ids] of byTenant) {
      if (wanted <= 0) break;
      work.push(...(await tenancy.withTenant(tenantId, async (tx) => {
        const leaseUntil = now.getTime() + leaseMs;
        const claimed = await repo.claim(tx, tenantId, ids, now, new Date(leaseUntil), wanted);
        wanted -= claimed.length;
        if (claimed.length === 0) return [];
        const endpoints = new Map((await repo.endpointsByIds(tx, tenantId, [...new Set(claimed.map((c) => c.endpoint_id))])).map((e) => [e.id, e]));
        const out: Work[] = [];
        const secretsOf = new Map<string, Secret[]>();
        for (const c of claimed) {
          const ep = endpoints.get(c.endpoint_id);
          if (!ep?.enabled || c.body === null) {
            await repo.finishAttempt(tx, tenantId, c.id, c.attempts, { status: 'failed', next_attempt_at: null, finished_at: now, last_error: ep?.enabled ? 'payload_pruned' : 'endpoint_disabled', attempts: c.attempts - 1 });
            continue;
          }
          let secrets = secretsOf.get(ep.id);
          if (!secrets) {
            secrets = [await deps.vault.decrypt(tx, SECRET_PURPOSE, ep.id, ep.secret)];
            if (ep.previous_secret && ep.previous_secret_until && ep.previous_secret_until > now) secrets.push(await deps.vault.decrypt(tx, PREVIOUS_SECRET_PURPOSE, ep.id, ep.previous_secret));
            secretsOf.set(ep.id, secrets);
          }
          out.push({ tenantId, id: c.id, endpointId: ep.id, attempt: c.attempts, url: ep.url, body: c.body, secrets, failing: ep.failing_since !== null, leaseUntil });
        }
        return out;
      })));
    }
    return work;
  }

  async function release(work: Work[]) {
    const now = deps.clock();
    const byTenant = new Map<string, Work[]>();
    for (const w of work) byTenant.set(w.tenantId, [...(byTenant.get(w.tenantId) ?? []), w]);
    for (const [tenantId, ws] of byTenant) {
      await tenancy.withTenant(tenantId, async (tx) => {
        for (const w of ws) await repo.finishAttempt(tx, tenantId, w.id, w.attempt, { attempts: w.attempt - 1, next_attempt_at: now });
      });
    }
  }

  async function attempt(w: Work): Promise<Outcome> {
    const at = deps.clock();
    const started = performance.now();
    const headers = standardWebhookHeaders({ id: messageId(w.id), timestamp: at, body: w.body, secrets: w.secrets });
    const done = (o: Omit<Outcome, 'latencyMs' | 'at'>): Outcome => ({ ...o, at, latencyMs: Math.round(performance.now() - started) });
    // Saved before plain http was limited to local receivers: refused here too, nothing connects.
    if (!w.url.startsWith('https:') && !plainHttpAllowed(new URL(w.url))) return done({ status: null, error: 'url_refused', response: null, retryAfterMs: null });
    try {
      const res = await deps.http.request(w.url, { method: 'POST', headers, body: w.body, tenantUrl: { field: 'url' }, timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
      const response = await readSnippet(res.body as Readable);
      const retryAfterMs = RETRY_AFTER_STATUSES.has(res.statusCode) ? parseRetryAfter(res.headers['retry-after'], at) : null;
      return done({ status: res.statusCode, error: null, response, retryAfterMs });
    } catch (err) {
      return done({ status: null, error: failureKind(err), response: null, retryAfterMs: null });
    }
  }

  async function record(w: Work, o: Outcome): Promise<'delivered' | 'retrying' | 'failed'> {
    const now = deps.clock();
    const logged = { id: crypto.randomUUID(), tenant_id: w.tenantId, delivery_id: w.id, attempt: w.attempt, attempted_at: o.at, status_code: o.status, latency_ms: o.latencyMs, error: o.error, response: o.response };
    const success = isSuccess(o);
    // The hot path (a success at an endpoint that was not failing) is batched: one round trip.
    if (success && !w.failing) {
      await delivered.add(logged);
      return 'delivered';
    }
    return tenancy.withTenant(w.tenantId, async (tx) => {
      await repo.insertAttempt(tx, logged);
      const base = { last_status: o.status, last_error: o.error ?? (o.status !== null && (o.status < 200 || o.status > 299) ? `http_${o.status}` : null) };
      if (success) {
        await repo.finishAttempt(tx, w.tenantId, w.id, w.attempt, { ...base, status: 'delivered', next_attempt_at: null, finished_at: now });
        if (w.failing) await repo.updateEndpoint(tx, w.tenantId, w.endpointId, { failing_since: null });
        return 'delivered';
      }
      const ep = await repo.findEndpoint(tx, w.tenantId, w.endpointId, { lock: true });
      // 410 Gone: the receiver says this URL is no more (Standard Webhooks: stop sending).
      if (o.status === 410) {
        await repo.finishAttempt(tx, w.tenantId, w.id, w.attempt, { ...base, status: 'failed', next_attempt_at: null, finished_at: now });
        if (ep?.enabled) await disable(tx, w.tenantId, ep.id, ep.url, 'gone_410', now);
        return 'failed';
      }
      const delay = nextDelayMs(w.attempt, { random, retryAfterMs: o.retryAfterMs });
      await repo.finishAttempt(tx, w.tenantId, w.id, w.attempt, delay === null
        ? { ...base, status: 'failed', next_attempt_at: null, finished_at: now }
        : { ...base, next_attempt_at: new Date(now.getTime() + delay) });
      if (ep?.enabled) {
        if (!ep.failing_since) await repo.updateEndpoint(tx, w.tenantId, ep.id, { failing_since: now });
        else if (now.getTime() - ep.failing_since.getTime() >= FAILING_DISABLE_MS) await disable(tx, w.tenantId, ep.id, ep.url, 'failing_5_days', now);
      }
      if (delay !== null) deps.retryIn?.(delay);
      return delay === null ? 'failed' : 'retrying';
    });
  }

  /**
   * Sends what is due, `concurrency` at a time, until nothing is due (or `maxMs` passed). Safe on
   * every node at once. Retries whose wait has not passed are left for a later run.
   */
  async function sendDue(opts: { maxMs?: number; concurrency?: number; batch?: number } = {}) {
    const started = Date.now();
    const concurrency = opts.concurrency ?? 16;
    const stats = { attempts: 0, delivered: 0, retrying: 0, failed: 0 };
    const queue: Work[] = [];
    let exhausted = false;
    let refill: Promise<void> | null = null;
    // The queue holds only what the workers start while its lease still covers an attempt (one
    // that waited longer would be taken and sent again by another sender once its lease ran out):
    // at the pace of the slowest turn of a worker so far (the timeout until one is seen), fast
    // endpoints get batches of up to `batch`, slow ones no more than the workers start at once.
    const cap = opts.batch ?? concurrency * 4;
    const waitBudgetMs = leaseMs - startableMs;
    let slowestTurnMs = timeoutMs;
    let turnSeen = false;
    const turnTook = (ms: number) => {
      slowestTurnMs = turnSeen ? Math.max(slowestTurnMs, ms) : ms;
      turnSeen = true;
    };
    const room = () => Math.min(cap, concurrency * Math.max(1, Math.floor(waitBudgetMs / Math.max(slowestTurnMs, 1)))) - queue.length;
    const fill = () => {
      refill ??= take(Math.max(room(), 1)).then((w) => {
        queue.push(...w);
        if (w.length === 0) exhausted = true;
      }).finally(() => { refill = null; });
      return refill;
    };
    let timeUp = false;
    // Taken but waited too long to start (a slow record, a stalled node): handed back unsent.
    const late: Work[] = [];
    const next = async (): Promise<Work | undefined> => {
      for (;;) {
        if (timeUp) return undefined;
        while (queue.length === 0 && !exhausted) await fill();
        const w = queue.shift();
        // Takes the next batch while this one is still being sent, so senders rarely wait for it.
        if (queue.length <= concurrency && !exhausted && room() > 0) void fill().catch(() => undefined);
        if (!w || w.leaseUntil - deps.clock().getTime() >= startableMs) return w;
        late.push(w);
      }
    };
    const count = (result: Awaited<ReturnType<typeof record>>) => {
      stats.attempts++;
      stats[result]++;
      deps.metrics?.deliveries.inc({ outcome: result });
    };
    // Successes are recorded in batches behind the sends: a worker sends its next delivery meanwhile
    // (a record that fails leaves its delivery leased, so it is sent again: at least once).
    const recording = new Set<Promise<void>>();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let w = await next(); w; w = await next()) {
        const turn = performance.now();
        const outcome = await attempt(w);
        if (isSuccess(outcome) && !w.failing) {
          const p: Promise<void> = record(w, outcome).then(count, (err: Error) => {
            deps.log?.warn({ tenantId: w.tenantId, deliveryId: w.id, err: { message: err.message } }, 'a delivery could not be recorded; it will be sent again');
          }).finally(() => recording.delete(p));
          recording.add(p);
          if (recording.size >= 4 * concurrency) await Promise.race(recording);
        } else {
          // A record that fails leaves the delivery leased: it is sent again once the lease ends.
          await record(w, outcome).then(count, (err: Error) => {
            deps.log?.warn({ tenantId: w.tenantId, deliveryId: w.id, err: { message: err.message } }, 'a delivery attempt could not be recorded; it will be sent again');
          });
        }
        turnTook(performance.now() - turn);
        if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) timeUp = exhausted = true;
      }
    }));
    await Promise.all(recording);
    // Taken ahead but not sent (the run hit maxMs): handed back as they were, attempt uncounted.
    await (refill as Promise<void> | null)?.catch(() => undefined);
    // A late one another sender took meanwhile is left alone (its attempt number moved on).
    if (queue.length > 0 || late.length > 0) await release([...queue.splice(0), ...late]);
    return stats;
  }

  /** Retention: payloads after `payloadDays`, finished deliveries and their attempts after `days`. */
  async function prune(r: { payloadDays: number; days: number }) {
    const now = deps.clock().getTime();
    const day = 86_400_000;
    return { pruned: await repo.prune(new Date(now - r.payloadDays * day), new Date(now - r.days * day)) };
  }

  return { sendDue, prune };
}
export type DeliverySender = ReturnType<typeof createDeliverySender>;
