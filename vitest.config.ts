import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the workspace packages from source; the build uses their dist/.
    alias: [
      { find: /^@keyhold\/contract$/, replacement: src('./packages/contract/src/index.ts') },
      { find: /^@keyhold\/sandbox$/, replacement: src('./packages/sandbox/src/index.ts') },
      { find: /^@keyhold\/sdk$/, replacement: src('./packages/sdk/src/index.ts') },
      { find: /^@keyhold\/sdk\/(stripe|openai|anthropic|resend)$/, replacement: `${src('./packages/sdk/src')}/$1.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    globalSetup: ['packages/server/src/test-support/global-setup.ts'],
    setupFiles: ['packages/server/src/test-support/sql-capture.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
