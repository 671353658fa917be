// The baseline for bench/proxy: a bare pass-through proxy on undici that injects one fixed
// credential — what the proxy would cost with no tenancy, limits, breaker or metrics at all.
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM_URL;
const auth = `Bearer ${process.env.UPSTREAM_KEY}`;
const dispatcher = new Agent({ connections: 128 });
const server = createServer(async (req, res) => {
  try {
    const up = await request(`${upstream}${req.url.replace(/^\/api\/proxy\/custom/, '')}`, {
      method: req.method,
      headers: { ...req.headers, host: undefined, authorization: auth, connection: undefined },
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      dispatcher,
    });
    res.writeHead(up.statusCode, up.headers);
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch {
    res.writeHead(502);
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
