import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../test-support/index.js';
import { sendRaw } from '../../test-support/raw-http.js';

/**
 * A connection reset is the client's doing only when it is the request itself that broke off
 * (a client dropping mid-body): that must not be an error line anyone can produce at will. A
 * reset anywhere else (a database socket, an upstream call) is a server failure and must be
 * seen as one.
 */
let t: Awaited<ReturnType<typeof testApp>>;
let port: number;
let bodiesStarted = 0;

beforeAll(async () => {
  t = await testApp();
  t.app.post('/test/upload', { schema: { hide: true } }, async () => ({ ok: true }));
  t.app.post('/test/upstream-reset', { schema: { hide: true } }, async () => {
    // What undici or pg raise when the other end of *their* socket resets.
    throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
  });
  t.app.addHook('onRequest', async (req) => {
    if (req.url === '/test/upload') bodiesStarted++;
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await t.close();
});

type Line = { level: number; msg: string; err?: { code?: string } };
const linesSince = (from: number): Line[] => t.logs.lines.slice(from).map((l) => JSON.parse(l) as Line);

/** Sends headers and half of the declared body, then resets the connection (RST, not FIN). */
function dropMidBody(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      socket.write('POST /test/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
      setTimeout(() => socket.resetAndDestroy(), 100);
    });
  });
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check(), what).toBe(true);
}

describe('connection resets', () => {
  it('a client that drops its connection mid-body leaves no error-level line, only a debug one', async () => {
    const from = t.logs.lines.length;
    const started = bodiesStarted;
    await dropMidBody();
    await sendRaw(port, Buffer.from('POST /test/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', 'latin1'));
    expect(bodiesStarted - started).toBe(2);
    const aborted = () => linesSince(from).filter((l) => l.msg === 'client closed the connection mid-request');
    await until(() => aborted().length === 2, 'both aborted requests were logged');
    expect(aborted().every((l) => l.level === 20 && l.err?.code === 'ECONNRESET')).toBe(true);
    expect(linesSince(from).filter((l) => l.level >= 50)).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('a reset raised by the server side of a complete request answers 500 and is logged as an error', async () => {
    const from = t.logs.lines.length;
    const injected = await t.app.inject({ method: 'POST', url: '/test/upstream-reset', payload: { a: 1 } });
    const overTheWire = await fetch(`http://127.0.0.1:${port}/test/upstream-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    for (const res of [{ status: injected.statusCode, body: injected.json() }, { status: overTheWire.status, body: await overTheWire.json() }]) {
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ success: false, code: 'INTERNAL_ERROR' });
    }
    const errors = linesSince(from).filter((l) => l.level >= 50);
    expect(errors.map((l) => [l.msg, l.err?.code])).toEqual([
      ['unhandled error', 'ECONNRESET'],
      ['unhandled error', 'ECONNRESET'],
    ]);
  });
});
