import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { adminClient, captureLogger, testApp } from '../../test-support/index.js';

/**
 * Postgres puts the values of a failing row or query into its errors (`detail: Key (email)=(…)
 * already exists`, `where`, `internalQuery`, the message of a data exception). Those values come
 * from requests; none of them may reach the log, while the error's code, constraint, table and
 * column still do.
 */
let t: Awaited<ReturnType<typeof testApp>>;
let client: pg.Client;
const raised: Record<string, pg.DatabaseError> = {};

/** Runs a statement that fails on `value` the way each kind of Postgres error does. */
async function failOn(kind: string, value: string): Promise<never> {
  const literal = client.escapeLiteral(value);
  try {
    if (kind === 'unique') {
      await client.query('create temp table if not exists log_canary (email text constraint log_canary_email_key unique)');
      await client.query('insert into log_canary (email) values ($1)', [value]);
      await client.query('insert into log_canary (email) values ($1)', [value]);
    } else if (kind === 'cast') {
      await client.query('select $1::uuid', [value]);
    } else if (kind === 'plpgsql') {
      await client.query(`do $$ begin execute 'select * from log_canary_missing where email = ' || ${client.escapeLiteral(literal)}; end $$`);
    } else if (kind === 'not-null') {
      await client.query('create temp table if not exists log_canary_nn (id text, email text not null)');
      await client.query('insert into log_canary_nn (id, email) values ($1, null)', [value]);
    }
  } catch (err) {
    raised[kind] = err as pg.DatabaseError;
    throw err;
  }
  throw new Error(`${kind} did not fail`);
}

beforeAll(async () => {
  client = await adminClient();
  t = await testApp();
  t.app.post<{ Body: { kind: string; value: string; wrap?: boolean } }>('/test/database-failure', { schema: { hide: true } }, async (req) => {
    try {
      return await failOn(req.body.kind, req.body.value);
    } catch (err) {
      if (req.body.wrap) throw new AppError('INTERNAL_ERROR', 'Could not save the record', { cause: err });
      throw err;
    }
  });
});
afterAll(async () => {
  await t.close();
  await client.end();
});

const KINDS = ['unique', 'cast', 'plpgsql', 'not-null'] as const;

describe('Postgres errors in logs', () => {
  it('a failing query answers 500 and its log names the constraint and table but no value from the request', async () => {
    const before = t.logs.lines.length;
    const canaries: string[] = [];
    for (const kind of KINDS) {
      for (const wrap of [false, true]) {
        const value = `canary-${kind}-${crypto.randomUUID()}@example.com`;
        canaries.push(value);
        const res = await t.app.inject({ method: 'POST', url: '/test/database-failure', payload: { kind, value, wrap } });
        expect(res.statusCode).toBe(500);
        expect(res.body).not.toContain(value);
      }
    }
    // The errors really carried the values, in the fields that leak them.
    expect(raised.unique!.detail).toContain('canary-unique-');
    expect(raised.cast!.message).toContain('canary-cast-');
    expect(`${raised.plpgsql!.where} ${raised.plpgsql!.internalQuery}`).toContain('canary-plpgsql-');
    expect(raised['not-null']!.detail).toContain('canary-not-null-');

    const logged = t.logs.lines.slice(before);
    const text = logged.join('\n');
    for (const canary of canaries) expect(text).not.toContain(canary);
    expect(text).not.toContain('canary-');
    const errors = logged.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
    expect(errors).toHaveLength(KINDS.length * 2);
    const unique = errors.find((e) => (e.err.cause ?? e.err).code === '23505').err;
    expect(unique).toMatchObject({ code: '23505', constraint: 'log_canary_email_key', table: 'log_canary', routine: expect.any(String) });
    const notNull = errors.find((e) => e.err.code === '23502').err;
    expect(notNull).toMatchObject({ table: 'log_canary_nn', column: 'email' });
    const wrapped = errors.find((e) => e.err.type === 'AppError' && e.err.cause?.code === '22P02').err;
    expect(wrapped.message).toBe('Could not save the record');
    expect(wrapped.cause.message).toBe('invalid input syntax for type uuid: "[REDACTED]"');
  });

  it('logging a Postgres error directly keeps its values out of the line, message included', async () => {
    const value = `canary-direct-${crypto.randomUUID()}`;
    const err = await failOn('cast', value).catch((e: unknown) => e);
    const { log, text } = captureLogger('info');
    log.error(err);
    log.error({ err });
    log.error({ err }, (err as Error).message);
    log.warn({ failure: { err, detail: 'kept' } }, 'nested');
    expect(text()).not.toContain(value);
    expect(text()).toContain('22P02');
    expect(text()).toContain('"detail":"kept"');
  });
});
