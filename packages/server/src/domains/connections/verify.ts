import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';
import { adapterFor } from '../../providers/registry.js';
import type { Provider } from '../catalog/catalog.js';
import { type ConnectionValues, buildProviderRequest, catalogPath, tenantBaseUrlField } from './provider-request.js';

/**
 * `restricted` (with `ok: true`): the provider recognised the credential but limits it to part of
 * its API (the catalog's `verify.restrictedWhen`); says what it cannot do.
 */
export type VerifyResult = { ok: boolean; status: number | null; reason?: 'rejected' | 'unreachable' | 'no_verify_request'; restricted?: string };

/** Provider trouble (5xx, rate limit) says nothing about the credentials. */
const providerTrouble = (status: number) => status >= 500 || status === 429;

/**
 * Runs the catalog's verify request with these credentials. Never throws for a provider answer;
 * the response body is discarded (it may echo what was sent). A tenant-supplied base URL is sent
 * as one (`http` guards it); its refusals are thrown (they are about the URL, not the credentials
 * or the provider).
 */
export async function verifyCredentials(
  provider: Provider,
  values: ConnectionValues,
  opts: { http: Pick<ProviderHttp, 'request'>; timeoutMs?: number },
): Promise<VerifyResult> {
  const own = adapterFor(provider).request?.verify?.(values);
  const verify = own ?? provider.verify;
  if (!verify) return { ok: false, status: null, reason: 'no_verify_request' };
  // The catalog's verify path may name non-secret config (an account id in the path); a tenant's own is used as written.
  const path = own ? own.path : catalogPath(provider, values, verify.path);
  const { url, headers } = buildProviderRequest(provider, values, path);
  const tenantField = tenantBaseUrlField(provider);
  try {
    const res = await opts.http.request(url, {
      method: verify.method,
      headers: { accept: 'application/json', ...headers },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(tenantField ? { tenantUrl: { field: tenantField } } : {}),
    });
    let ok = (verify.expectStatus ?? [200]).includes(res.statusCode);
    const restricted = !own && provider.verify?.restrictedWhen;
    if (!ok && restricted && restricted.status === res.statusCode) {
      // Only the named fields are compared; the rest of the refusal is dropped.
      const body = (await res.body.json().catch(() => ({}))) as Record<string, unknown>;
      const matches = Object.entries(restricted.json).every(([k, v]) => body[k] === v);
      return matches ? { ok: true, status: res.statusCode, restricted: restricted.note } : { ok: false, status: res.statusCode, reason: 'rejected' };
    }
    if (ok && 'expectJson' in verify && verify.expectJson) {
      // Only the expected fields are looked at; the rest of the answer (which may echo what was sent) is dropped.
      const body = (await res.body.json().catch(() => ({}))) as Record<string, unknown>;
      ok = Object.entries(verify.expectJson).every(([k, v]) => body[k] === v);
      if (!ok) return { ok, status: res.statusCode, reason: 'rejected' };
    } else {
      await res.body.dump();
    }
    if (ok) return { ok, status: res.statusCode };
    return { ok, status: res.statusCode, reason: providerTrouble(res.statusCode) ? 'unreachable' : 'rejected' };
  } catch (err) {
    if (err instanceof AppError) throw err;
    return { ok: false, status: null, reason: 'unreachable' };
  }
}
