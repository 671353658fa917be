import { parseJson } from './json-body.js';

/**
 * The failure switch over HTTP, for the demo and for tools outside the test process:
 * `POST /_sandbox/faults {provider, status?, latencyMs?, afterCalls?, times?, path?}` makes the
 * provider fail (after `afterCalls` matching requests succeeded: a provider failing mid-sync);
 * `DELETE /_sandbox/faults?provider=<id>[&path=…]` heals it.
 */
const INTS: Record<string, [number, number]> = { status: [400, 599], latencyMs: [0, 60_000], afterCalls: [0, 1_000_000], times: [1, 1_000_000] };

/** The body's fault, or the name of the first field that is not right. */
function faultOf(body: Record<string, unknown> | null): { provider: string; fault: FaultFailure } | { bad: string } {
  if (!body) return { bad: 'body' };
  for (const k of Object.keys(body)) if (!(k in INTS) && k !== 'provider' && k !== 'path') return { bad: k };
  if (typeof body.provider !== 'string' || !/^[a-z][a-z0-9-]{1,40}$/.test(body.provider)) return { bad: 'provider' };
  if (body.path !== undefined && (typeof body.path !== 'string' || !body.path.startsWith('/') || body.path.length > 300)) return { bad: 'path' };
  for (const [k, [min, max]] of Object.entries(INTS)) {
    const v = body[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) return { bad: k };
  }
  const n = (k: string) => body[k] as number | undefined;
  const fault: FaultFailure = {
    ...(n('status') !== undefined ? { status: n('status') } : {}), ...(n('latencyMs') !== undefined ? { latencyMs: n('latencyMs') } : {}),
    ...(n('afterCalls') !== undefined ? { after: n('afterCalls') } : {}), ...(n('times') !== undefined ? { times: n('times') } : {}),
    ...(body.path !== undefined ? { path: body.path as string } : {}),
  };
  return { provider: body.provider, fault };
}

export type FaultFailure = { status?: number; latencyMs?: number; times?: number; path?: string; after?: number };

export function faultsRoute(
  method: string, url: URL, body: string,
  api: { fail(provider: string, f: FaultFailure): void; heal(provider: string, path?: string): unknown },
): { status: number; body: unknown } {
  if (method === 'POST') {
    const parsed = faultOf(parseJson(body));
    if ('bad' in parsed) return { status: 400, body: { error: `invalid fault: ${parsed.bad}` } };
    api.fail(parsed.provider, parsed.fault);
    return { status: 201, body: { ok: true } };
  }
  if (method === 'DELETE') {
    const provider = url.searchParams.get('provider');
    if (!provider) return { status: 400, body: { error: 'provider is required' } };
    api.heal(provider, url.searchParams.get('path') ?? undefined);
    return { status: 200, body: { ok: true } };
  }
  return { status: 405, body: { error: 'method not allowed' } };
}
