import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testDb, testRing } from '../../test-support/index.js';
import { createDekCache } from './dek-cache.js';
import { createVaultRepo } from './vault.repo.js';
import { createVault } from './vault.service.js';

const db = testDb();
afterAll(() => db.close());

describe('vault memory', () => {
  it("keeps the key lists of no more scopes than its DEK cache holds keys, however many tenants it serves", async () => {
    const cache = createDekCache({ max: 20 });
    const vault = createVault({ repo: createVaultRepo(db.kysely), ring: testRing(), cache, clock: () => new Date(), tenancy: db });
    const tenants = Array.from({ length: 60 }, () => randomUUID());
    for (const t of tenants) await vault.prepare(t);
    expect(vault.scopesKept()).toBe(20);
    expect(cache.size).toBeLessThanOrEqual(20);
    // A scope whose list was dropped is read again when it is next used, as a first use would be.
    await expect(vault.prepare(tenants[0]!)).resolves.toBeUndefined();
    expect(vault.scopesKept()).toBe(20);
  });
});
