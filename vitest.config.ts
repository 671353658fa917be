import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the workspace packages from source; the build uses their dist/.
    alias: {
      '@keyhold/contract': src('./packages/contract/src/index.ts'),
      '@keyhold/sandbox': src('./packages/sandbox/src/index.ts'),
      '@keyhold/sdk': src('./packages/sdk/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    globalSetup: ['packages/server/src/test-support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
