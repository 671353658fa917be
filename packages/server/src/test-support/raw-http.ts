import net from 'node:net';

const ascii = (s: string) => Buffer.from(s, 'latin1');

/**
 * Requests no well-behaved client sends, as raw bytes: each reaches Node's HTTP parser or
 * Fastify's client-error path (which logs the parser's error, raw packet attached, at trace).
 */
export const MALFORMED_REQUESTS: Array<{ name: string; bytes: Buffer }> = [
  { name: 'a 0xE9 byte in the path', bytes: Buffer.concat([ascii('GET /nope/'), Buffer.from([0xe9]), ascii(' HTTP/1.1\r\nHost: x\r\n\r\n')]) },
  { name: 'a NUL in the path', bytes: ascii('GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n') },
  { name: 'a bad request line', bytes: ascii('THIS IS NOT HTTP\r\n\r\n') },
  { name: 'a control byte in a header value', bytes: ascii('GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n') },
  { name: 'a 64 KiB header', bytes: ascii(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`) },
  { name: 'a request cut off in its headers', bytes: ascii('GET /health HTTP/1.1\r\nHost: x\r\nContent-Le') },
  { name: 'a body cut off before its Content-Length', bytes: ascii('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":') },
  { name: 'broken chunked encoding', bytes: ascii('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n') },
  { name: 'binary noise', bytes: Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 151 + 7) & 255)) },
];

/** Writes `bytes`, half-closes, and resolves with whatever came back when the server is done. */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.end(bytes));
  });
}
