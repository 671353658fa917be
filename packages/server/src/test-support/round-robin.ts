import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/** Headers that belong to one hop and are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);

type Backend = { url: string; pool: Pool; ready: boolean; served: number };

export type LoadBalancer = {
  url: string;
  /** Requests each backend answered, and requests sent again elsewhere after a refused connection. */
  stats(): { served: Record<string, number>; retriedAfterRefusal: number };
  close(): Promise<void>;
};

/**
 * A loopback load balancer as an operator would put in front of Keyhold nodes: round-robin over
 * the nodes whose `GET /ready` answered 200 at the last check (every `checkEveryMs`), keep-alive
 * connections to them, and a request whose connection was refused goes to the next node (nothing
 * was sent, so that is safe for any method). Every other failure is answered 502, never retried.
 */
export async function startLoadBalancer(nodes: string[], opts: { checkEveryMs?: number } = {}): Promise<LoadBalancer> {
  const backends: Backend[] = nodes.map((url) => ({ url, pool: new Pool(url, { connections: 32 }), ready: false, served: 0 }));
  let next = 0;
  let retriedAfterRefusal = 0;

  const check = async (b: Backend) => {
    try {
      const res = await fetch(`${b.url}/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      b.ready = res.status === 200;
    } catch {
      b.ready = false;
    }
  };
  await Promise.all(backends.map(check));
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void Promise.all(backends.map(check)).finally(() => (checking = false));
  }, opts.checkEveryMs ?? 200);

  /** The next ready backend after the last one used; any backend when none is ready. */
  const pick = (skip: Set<Backend>) => {
    for (let i = 0; i < backends.length * 2; i++) {
      const b = backends[next++ % backends.length]!;
      if (!skip.has(b) && (b.ready || i >= backends.length)) return b;
    }
    return undefined;
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers: Record<string, string | string[]> = { 'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1', 'x-forwarded-proto': 'https' };
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const tried = new Set<Backend>();
    for (let b = pick(tried); b; b = pick(tried)) {
      tried.add(b);
      try {
        const up = await b.pool.request({ method: req.method as 'GET', path: req.url!, headers, body });
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        const payload = Buffer.from(await up.body.arrayBuffer());
        b.served++;
        res.writeHead(up.statusCode, out).end(payload);
        return;
      } catch (err) {
        if (refused(err)) {
          b.ready = false;
          retriedAfterRefusal++;
          continue;
        }
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`load balancer: ${b.url}: ${(err as Error).message}`);
        return;
      }
    }
    res.writeHead(503, { 'content-type': 'text/plain' }).end('load balancer: no node accepted the connection');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ served: Object.fromEntries(backends.map((b) => [b.url, b.served])), retriedAfterRefusal }),
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(backends.map((b) => b.pool.close()));
    },
  };
}

function refused(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code === 'ECONNREFUSED' || e.cause?.code === 'ECONNREFUSED';
}
