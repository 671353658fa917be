import type { Secret } from '../../platform/crypto/secret.js';
import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import type { MessagingHooks, OutboundEmail, ProviderAdapter, ProviderCall } from '../../providers/adapter.js';
import type { TenantClients } from '../proxy/tenant-clients.js';

/** The platform's own sender (operator config): an email provider id, its API key, from-address and base URL. */
export type PlatformSender = { provider: string; apiKey: Secret; from: string; baseUrl: string };

/** What one attempt came to. `error` is a short code safe to store (never a provider's body). */
export type SendOutcome = { ok: true; messageId: string | null } | { ok: false; error: string; retry: boolean; /** The provider's rate limit: try again after this long. */ retryAfterMs?: number };

export type Transports = {
  /** The platform's from-address, when a platform sender is configured. */
  platformFrom: string | null;
  /** Sends through the platform's sender (`via` null) or the tenant's own connection of `via.provider`. */
  email(tenantId: string, via: { provider: string } | null, msg: OutboundEmail): Promise<SendOutcome>;
  chat(tenantId: string, provider: string, msg: { channel: string; text: string }): Promise<SendOutcome>;
};

export type TransportsDeps = {
  platform?: PlatformSender;
  http: Pick<ProviderHttp, 'request'>;
  /** The tenant's own connections, through the proxy's rate-limited path (credentials injected there). */
  tenantFetch: TenantClients['fetch'];
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  timeoutMs?: number;
};

const code = (v: string) => v.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 80);
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

async function jsonOf(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Network, proxy and provider refusals as outcomes; nothing of a provider's body but its error name. */
function failure(err: unknown): SendOutcome {
  if (err instanceof AppError) return { ok: false, error: code(err.code), retry: err.httpStatus === 429 || err.httpStatus >= 500 };
  return { ok: false, error: 'unreachable', retry: true };
}

function answerError(status: number, answer: unknown, retryAfter?: string | null): SendOutcome {
  const name = (answer && typeof answer === 'object' && typeof (answer as { name?: unknown }).name === 'string') ? `:${(answer as { name: string }).name}` : '';
  const seconds = Number(retryAfter);
  const retryAfterMs = status === 429 ? (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 3600) * 1000 : 1000) : undefined;
  return { ok: false, error: code(`http_${status}${name}`), retry: retryable(status), ...(retryAfterMs ? { retryAfterMs } : {}) };
}

/**
 * How notifications reach providers. The messages' shape at each provider is the adapter's
 * (`messaging` hooks); this file only moves them: the platform's sender with the operator's key
 * over the one provider HTTP client, a tenant's own connection through the proxy path.
 */
export function createTransports(deps: TransportsDeps): Transports {
  const timeoutMs = deps.timeoutMs ?? 15_000;
  const hooks = (provider: string): MessagingHooks => deps.adapterFor({ id: provider }).messaging ?? {};

  async function viaTenant(tenantId: string, provider: string, call: ProviderCall): Promise<{ status: number; answer: unknown; retryAfter?: string | null } | SendOutcome> {
    try {
      const res = await deps.tenantFetch(tenantId, provider, call.path, { method: call.method, headers: call.headers, body: call.body });
      return { status: res.status, answer: await jsonOf(await res.text()), retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      return failure(err);
    }
  }

  async function viaPlatform(sender: PlatformSender, call: ProviderCall, auth: Record<string, string>): Promise<{ status: number; answer: unknown; retryAfter?: string | null } | SendOutcome> {
    try {
      const res = await deps.http.request(`${sender.baseUrl.replace(/\/+$/, '')}${call.path}`, { method: call.method, headers: { ...call.headers, ...auth }, body: call.body, timeoutMs });
      return { status: res.statusCode, answer: await jsonOf(await res.body.text()), retryAfter: [res.headers['retry-after']].flat()[0] ?? null };
    } catch (err) {
      return failure(err);
    }
  }

  return {
    platformFrom: deps.platform?.from ?? null,

    async email(tenantId, via, msg) {
      const provider = via?.provider ?? deps.platform?.provider;
      const email = provider ? hooks(provider).email : undefined;
      if (!provider || !email) return { ok: false, error: via ? 'sender_not_email' : 'no_platform_sender', retry: false };
      const call = email.send(msg);
      const r = via ? await viaTenant(tenantId, provider, call) : await viaPlatform(deps.platform!, call, email.platformAuth(deps.platform!.apiKey.reveal()));
      if ('ok' in r) return r;
      if (r.status < 200 || r.status >= 300) return answerError(r.status, r.answer, r.retryAfter);
      return { ok: true, messageId: email.messageId(r.answer) };
    },

    async chat(tenantId, provider, msg) {
      const chat = hooks(provider).chat;
      if (!chat) return { ok: false, error: 'provider_not_chat', retry: false };
      const r = await viaTenant(tenantId, provider, chat.post(msg));
      if ('ok' in r) return r;
      if (r.status < 200 || r.status >= 300) return answerError(r.status, r.answer, r.retryAfter);
      const result = chat.result(r.answer);
      return result.ok ? { ok: true, messageId: result.id } : { ok: false, error: code(result.error), retry: result.error === 'ratelimited' };
    },
  };
}
