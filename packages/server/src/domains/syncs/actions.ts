import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../../platform/clock.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Tenancy } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { ActionError, type ProviderAdapter, type SyncAnswer } from '../../providers/adapter.js';
import { canonicalJson } from '../audit/canonical.js';
import type { ConnectionStore } from '../connections/store.js';
import type { ActionsRepo } from './actions.repo.js';
import type { TenantFetch } from './run.js';

/** An action's lease: a write silent this long is taken as dead and its key may be retried. */
const ACTION_LEASE_MS = 5 * 60_000;
/** How long one provider call may wait for the connection's rate limit (shared with live traffic). */
const MAX_RATE_WAIT_MS = 30_000;
const KEY = /^[A-Za-z0-9_.:-]{1,200}$/;
const STORABLE_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

export type ActionRequest = {
  tenantId: string;
  connectionId: string;
  action: string;
  input: unknown;
  /** The caller's key; without one it is derived from the action and its (validated) input. */
  idempotencyKey?: string;
  trigger?: 'manual' | 'schedule';
};

/** `replayed`: the key had succeeded before, so nothing was sent and the stored result is returned. */
export type ActionOutcome = {
  runId: string;
  status: 'succeeded' | 'failed';
  replayed: boolean;
  idempotencyKey: string;
  result: Record<string, unknown> | null;
  errorCode: string | null;
  providerCalls: number;
};

export type ActionDeps = {
  repo: ActionsRepo;
  tenancy: Tenancy;
  store: Pick<ConnectionStore, 'byId'>;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  tenantFetch: TenantFetch;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
};

function errorCodeOf(err: unknown): string {
  const code = err instanceof ActionError || err instanceof AppError ? err.code : 'internal_error';
  return STORABLE_CODE.test(code) ? code : 'internal_error';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The key of an action without a caller's key: the same input twice is the same write. */
export const derivedKey = (action: string, input: unknown) => `sha256:${sha256(canonicalJson({ action, input }))}`;

/** What a key's row remembers of its input: a key reused with another input is refused. */
export const inputHashOf = (input: unknown) => sha256(canonicalJson(input));

/**
 * The provider-facing key of one send: the caller's key and input, and the send attempt (which
 * moves on only after the provider refused, so a lost answer is resent under the same key).
 */
const sendKeyOf = (key: string, inputHash: string, attempt: number) => `send:${sha256(`${key}\u0000${inputHash}\u0000${attempt}`)}`;

/**
 * Writes to a provider as a tenant's connection (adapter-defined actions), through the same
 * rate-limited tenant path as syncs, recorded in `sync_runs` with kind 'action'. Each write runs
 * under an idempotency key (unique per connection and action): a key that succeeded returns its
 * stored result without calling the provider again; a key that failed may be retried; one
 * running answers ACTION_IN_PROGRESS. One action of a name runs at a time per connection.
 */
export function createActionRunner(deps: ActionDeps) {
  async function claim(req: ActionRequest) {
    return deps.tenancy.withTenant(req.tenantId, async (tx) => {
      const conn = await deps.store.byId(tx, req.connectionId);
      if (!conn) throw new AppError('NOT_FOUND', 'Connection not found');
      const def = deps.adapterFor({ id: conn.provider }).actions?.[req.action];
      if (!def) throw new AppError('NOT_FOUND', `The ${conn.provider} connection has no action '${req.action}'`);
      const parsed = def.input.safeParse(req.input);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((i) => i.path.join('.') || '(input)');
        throw new AppError('VALIDATION_FAILED', `The input of '${req.action}' is not valid: ${[...new Set(fields)].join(', ')}`);
      }
      const key = req.idempotencyKey ?? derivedKey(req.action, parsed.data);
      if (!KEY.test(key)) throw new AppError('VALIDATION_FAILED', 'idempotencyKey: 1-200 characters of A-Z a-z 0-9 _ . : -');
      const inputHash = inputHashOf(parsed.data);
      const now = deps.clock();
      await deps.repo.closeExpired(tx, req.tenantId, conn.id, req.action, now);
      const claimed = await deps.repo.claim(tx, {
        id: uuidv7(), tenant_id: req.tenantId, connection_id: conn.id, action: req.action, key, input_hash: inputHash, trigger: req.trigger ?? 'manual',
        started_at: now, lease_until: new Date(now.getTime() + ACTION_LEASE_MS),
      });
      const existing = claimed ? null : await deps.repo.byKey(tx, req.tenantId, conn.id, req.action, key);
      // Before anything is sent: the same key with another input is the caller's mistake, never a replay or a second send.
      if (existing && existing.input_hash !== null && existing.input_hash !== inputHash) {
        throw new AppError('IDEMPOTENCY_KEY_REUSED', `The idempotency key of '${req.action}' was used with another input; use a new key for a new write`);
      }
      const sendKey = claimed ? sendKeyOf(key, inputHash, claimed.send_attempt) : null;
      return { id: claimed?.id ?? null, existing, key, sendKey, def, input: parsed.data, conn: { id: conn.id, provider: conn.provider, label: conn.label, config: conn.config } };
    }).catch((err: unknown) => {
      if (isUniqueViolation(err, 'sync_runs_one_running')) throw inProgress(req.action);
      throw err;
    });
  }

  async function perform(req: ActionRequest): Promise<ActionOutcome> {
    const { id, existing, key, sendKey, def, input, conn } = await claim(req);
    if (!id || !sendKey) {
      if (existing?.status !== 'succeeded') throw inProgress(req.action);
      return { runId: existing.id, status: 'succeeded', replayed: true, idempotencyKey: key, result: existing.result, errorCode: null, providerCalls: 0 };
    }
    let providerCalls = 0;
    const call = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<SyncAnswer> => {
      providerCalls++;
      const res = await deps.tenantFetch(req.tenantId, conn.provider, path, {
        ...(init.method ? { method: init.method } : {}), ...(init.headers ? { headers: init.headers } : {}), ...(init.body !== undefined ? { body: init.body } : {}),
        label: conn.label, maxWaitMs: MAX_RATE_WAIT_MS,
      });
      const text = await res.text();
      let body: unknown = null;
      try { body = text ? JSON.parse(text) : null; } catch { body = null; }
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, body };
    };
    let outcome: { status: 'succeeded' | 'failed'; result: Record<string, unknown> | null; errorCode: string | null };
    let refused = false;
    try {
      outcome = { status: 'succeeded', result: await def.perform({ input, call, idempotencyKey: sendKey, config: conn.config }), errorCode: null };
    } catch (err) {
      const code = errorCodeOf(err);
      refused = err instanceof ActionError && err.opts.refused === true;
      deps.log?.warn({ actionRunId: id, action: req.action, connectionId: conn.id, code }, 'action failed');
      outcome = { status: 'failed', result: null, errorCode: code };
    }
    const closed = await deps.tenancy.withTenant(req.tenantId, (tx) => deps.repo.finish(tx, req.tenantId, id, {
      status: outcome.status, finished_at: deps.clock(), provider_calls: providerCalls, error_code: outcome.errorCode, result: outcome.result, refused,
    }));
    if (!closed) return { runId: id, status: 'failed', replayed: false, idempotencyKey: key, result: null, errorCode: 'lease_lost', providerCalls };
    return { runId: id, ...outcome, replayed: false, idempotencyKey: key, providerCalls };
  }

  return { perform };
}
export type ActionRunner = ReturnType<typeof createActionRunner>;

const inProgress = (action: string) => new AppError('ACTION_IN_PROGRESS', `The action '${action}' of this connection is running; try again when it finished`);
