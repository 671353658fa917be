// A minimal upstream API for bench/proxy: answers any path with a small JSON body, only with the
// expected Authorization. Prints its URL on stdout.
import { createServer } from 'node:http';

const expected = `Bearer ${process.env.UPSTREAM_KEY}`;
const body = JSON.stringify({ object: 'balance', available: [{ amount: 0, currency: 'usd' }], livemode: false });
const server = createServer((req, res) => {
  if (req.headers.authorization !== expected) {
    res.writeHead(401, { 'content-type': 'application/json' });
    return res.end('{"error":"unauthorized"}');
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
