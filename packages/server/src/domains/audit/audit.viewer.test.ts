import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, addMember, bearer, createApiKey, signup } from '../../test-support/accounts.js';
import { type TestApp, adminClient, testApp } from '../../test-support/index.js';
import { csvCell } from './audit.csv.js';
import { EXPORT_MAX_ROWS } from './audit.service.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const DAY = 86_400_000;

/** An organization whose log holds, besides its sign-up, entries at known times, actors and outcomes. */
async function orgWithHistory() {
  const owner = await signup(t.app);
  const start = t.clock().getTime();
  const at = async (offsetDays: number, action: string, actorId: string, extra: { userAgent?: string; metadata?: Record<string, unknown> } = {}) => {
    // In the past, so the owner's token (issued now) stays valid.
    t.clock.set(start + (offsetDays - 6) * DAY);
    await t.services.audit.record(
      { tenantId: owner.tenantId, actor: { type: 'user', id: actorId }, ...(extra.userAgent ? { userAgent: extra.userAgent } : {}) },
      { action, entity: { type: 'user', id: actorId }, ...(extra.metadata ? { metadata: extra.metadata } : {}) },
    );
  };
  await at(1, 'user.invite', 'alice');
  await at(2, 'user.update', 'bob');
  await at(3, 'auth.login_failed', 'bob');
  await at(4, 'api_credentials.rotate', 'alice');
  await at(5, 'oauth.denied', 'carol');
  t.clock.set(start);
  return { owner, start: start - 6 * DAY };
}

const list = async (owner: Account, query: string) => {
  const res = await t.app.inject({ method: 'GET', url: `/api/audit-logs?${query}`, headers: bearer(owner.accessToken) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { data: Array<{ action: string; outcome: string; actor: { id: string | null } }>; pagination: { total: number } };
};
const actions = async (owner: Account, query: string) => (await list(owner, query)).data.map((e) => e.action);

describe('audit log filters', () => {
  it('filter by exact action, action family, actor, outcome and time range; every filter combines', async () => {
    const { owner, start } = await orgWithHistory();
    expect(await actions(owner, 'action=user.update')).toEqual(['user.update']);
    expect(await actions(owner, 'action=user.*')).toEqual(['user.update', 'user.invite', 'user.signup']);
    expect(await actions(owner, 'actorId=bob')).toEqual(['auth.login_failed', 'user.update']);
    expect(await actions(owner, 'outcome=failure')).toEqual(['oauth.denied', 'auth.login_failed']);
    expect((await list(owner, 'outcome=success')).data.every((e) => e.outcome === 'success')).toBe(true);
    const from = new Date(start + 2 * DAY).toISOString();
    const to = new Date(start + 4 * DAY).toISOString();
    expect(await actions(owner, `from=${from}&to=${to}`)).toEqual(['auth.login_failed', 'user.update']);
    expect(await actions(owner, `from=${from}&actorId=bob&outcome=failure`)).toEqual(['auth.login_failed']);
    expect((await list(owner, 'actorId=alice&limit=1')).pagination.total).toBe(2);
  });

  it("an organization's filters never reach another organization's entries", async () => {
    const a = await orgWithHistory();
    const b = await signup(t.app);
    expect(await actions(b, 'actorId=alice')).toEqual([]);
    expect(await actions(b, 'action=api_credentials.*')).toEqual([]);
    expect(await actions(a.owner, 'action=api_credentials.*')).toEqual(['api_credentials.rotate']);
  });

  it('a LIKE wildcard in an action family matches itself only', async () => {
    const { owner } = await orgWithHistory();
    // `_` would match any character in LIKE: "use_.*" must not find "user.invite".
    expect(await actions(owner, 'action=use_.*')).toEqual([]);
  });

  it('refuses malformed filters with 400 and nothing else', async () => {
    const owner = await signup(t.app);
    for (const q of ['from=yesterday', 'to=2026-13-45T00:00:00Z', 'outcome=maybe', "action=user'%20or%201=1", 'action=%25']) {
      const res = await t.app.inject({ method: 'GET', url: `/api/audit-logs?${q}`, headers: bearer(owner.accessToken) });
      expect(res.statusCode, q).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });
});

/** RFC 4180 rows of a CSV whose every cell is quoted (what the export writes). */
function parseQuotedCsv(text: string): string[][] {
  const rows: string[][] = [];
  const cell = /"((?:[^"]|"")*)"(,|\r\n)/gy;
  let row: string[] = [];
  for (let m = cell.exec(text); m; m = cell.exec(text)) {
    row.push(m[1]!.replaceAll('""', '"'));
    if (m[2] === '\r\n') {
      rows.push(row);
      row = [];
    }
  }
  expect(cell.lastIndex === 0 ? text.length : cell.lastIndex, 'the whole CSV parses').toBe(text.length);
  return rows;
}

describe('audit log CSV export', () => {
  it('escapes cells a spreadsheet would run as formulas, and keeps quotes, commas and line breaks in their cell', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${lead}1+2`)).toBe(`"'${lead}1+2"`);
    expect(csvCell('a,b\r\nc "d"')).toBe('"a,b\r\nc ""d"""');
    expect(csvCell(null)).toBe('""');
    expect(csvCell('user.invite')).toBe('"user.invite"');
  });

  it('exports the filtered log with a header row, formula-like values made inert', async () => {
    const { owner } = await orgWithHistory();
    await t.services.audit.record(
      { tenantId: owner.tenantId, actor: { type: 'user', id: 'mallory' }, userAgent: '=cmd|"/c calc"!A1' },
      { action: 'user.update', metadata: { note: '@SUM(1+1)\r\n,"x"' } },
    );
    const res = await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv?action=user.*', headers: bearer(owner.accessToken) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="keyhold-audit-log\.csv"$/);
    expect(res.headers['x-keyhold-truncated']).toBe('false');
    const [header, ...rows] = parseQuotedCsv(res.body);
    expect(header).toEqual(['created_at', 'seq', 'action', 'outcome', 'actor_type', 'actor_id', 'entity_type', 'entity_id', 'ip', 'user_agent', 'request_id', 'metadata']);
    expect(rows.map((r) => r[2])).toEqual(['user.update', 'user.update', 'user.invite', 'user.signup']);
    const mallory = rows[0]!;
    expect(mallory[5]).toBe('mallory');
    expect(mallory[9]).toBe(`'=cmd|"/c calc"!A1`);
    expect(JSON.parse(mallory[11]!)).toEqual({ note: '@SUM(1+1)\r\n,"x"' });
    for (const r of rows) for (const c of r) expect(c).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('reads past a page of entries without losing or repeating one', async () => {
    const owner = await signup(t.app);
    const n = 1_050;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        t.services.audit.record({ tenantId: owner.tenantId, actor: { type: 'system', id: null } }, { action: 'test.bulk', metadata: { i: i + j } })));
    }
    const res = await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv?action=test.bulk', headers: bearer(owner.accessToken) });
    const rows = parseQuotedCsv(res.body).slice(1);
    expect(rows).toHaveLength(n);
    const seqs = rows.map((r) => Number(r[1]));
    expect(new Set(seqs).size).toBe(n);
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
  }, 60_000);

  it('says truncated only when an entry was left out: exactly the cap is whole, one more is not', async () => {
    const owner = await signup(t.app);
    const admin = await adminClient();
    // Rows written directly (the export reads them; the chain is not what is tested here).
    const seed = (from: number, count: number) => admin.query(
      `insert into audit_logs (id, tenant_id, seq, actor_type, action, metadata, created_at, prev_hash, hash)
       select gen_random_uuid(), $1, 1000000 + g, 'system', 'test.cap', '{}', now(), repeat('0', 64), repeat('0', 64) from generate_series($2::int, $3::int) g`,
      [owner.tenantId, from, from + count - 1]);
    try {
      await seed(1, EXPORT_MAX_ROWS);
      const whole = await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv?action=test.cap', headers: bearer(owner.accessToken) });
      expect(whole.headers['x-keyhold-truncated']).toBe('false');
      expect(parseQuotedCsv(whole.body).slice(1)).toHaveLength(EXPORT_MAX_ROWS);
      await seed(EXPORT_MAX_ROWS + 1, 1);
      const cut = await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv?action=test.cap', headers: bearer(owner.accessToken) });
      expect(cut.headers['x-keyhold-truncated']).toBe('true');
      const rows = parseQuotedCsv(cut.body).slice(1);
      expect(rows).toHaveLength(EXPORT_MAX_ROWS);
      // Newest first: the oldest entry is the one left out.
      expect(rows.map((r) => Number(r[1]))).not.toContain(1_000_001);
    } finally {
      await admin.end();
    }
  }, 120_000);

  it('is refused to members, viewers and API keys without audit:read, and never shows another organization', async () => {
    const owner = await signup(t.app);
    for (const role of ['member', 'viewer']) {
      const token = await addMember(t.app, owner, role);
      expect((await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv', headers: bearer(token) })).statusCode, role).toBe(403);
    }
    const { key } = await createApiKey(t.app, t.clock, owner, { scopes: ['events:read'], role: 'admin' });
    expect((await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv', headers: bearer(key) })).statusCode).toBe(403);
    const reader = await createApiKey(t.app, t.clock, owner, { scopes: ['audit:read'], role: 'admin' });
    const ok = await t.app.inject({ method: 'GET', url: '/api/audit-logs/export.csv', headers: bearer(reader.key) });
    expect(ok.statusCode).toBe(200);
    const other = await orgWithHistory();
    expect(ok.body).not.toContain('alice');
    expect(ok.body).not.toContain(other.owner.tenantId);
  });
});
