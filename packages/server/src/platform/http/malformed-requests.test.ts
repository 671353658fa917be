import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
import type { Db } from '../db/database.js';
import { createLogger } from '../logger.js';
import { testDb, testServices } from '../../test-support/index.js';
import { MALFORMED_REQUESTS, sendRaw } from '../../test-support/raw-http.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

let db: Db;
let services: ReturnType<typeof testServices>;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
beforeAll(() => {
  db = testDb();
  services = testServices(db);
  process.on('uncaughtException', onCrash);
});
afterAll(async () => {
  process.off('uncaughtException', onCrash);
  await db.close();
});

/** The real app and logger configuration, listening on 127.0.0.1, its log captured. */
async function listeningApp(level: string): Promise<{ app: FastifyInstance; port: number; log: () => string }> {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level, destination });
  const app = await buildApp({ logger, trustProxy: false, version: 'test', startedAt: new Date(), expectedMigrations: [], db, services, metricsAccess: { mode: 'loopback' } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, port, log: () => chunks.join('') };
}

describe('malformed requests at every log level', () => {
  for (const level of LEVELS) {
    it(`at ${level}, no malformed request takes the server down or puts its bytes in the log`, async () => {
      crashes.length = 0;
      const { app, port, log } = await listeningApp(level);
      try {
        for (const { name, bytes } of MALFORMED_REQUESTS) {
          await sendRaw(port, bytes);
          expect(crashes, `${name} at ${level}`).toEqual([]);
          const health = await fetch(`http://127.0.0.1:${port}/health`);
          expect(health.status, `${name} at ${level}`).toBe(200);
        }
        const text = log();
        // Every line is JSON with no raw bytes of the requests in it.
        const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
        // A client's broken request is the client's problem, not a server error to page someone for.
        expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
        expect(text).not.toContain('rawPacket');
        expect(text).not.toContain('a'.repeat(1024));
        expect(text).not.toMatch(/[\u0000-\u0008\u00e9]/);
        if (level === 'trace') {
          // The client-error path (where the crash was) really ran and was logged.
          expect(text).toMatch(/"msg":"client error"/);
          expect(text).toContain('HPE_');
        }
        if (level === 'silent') expect(text).toBe('');
      } finally {
        await app.close();
      }
    });
  }
});
