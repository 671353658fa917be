#!/usr/bin/env node
// The `keyhold` command. The CLI itself is TypeScript compiled to dist/ by `npm run build`
// (which `npm start` and `npm test` run first).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("keyhold: the server is not built yet; run 'npm run build' in the Keyhold checkout\n");
  process.exit(1);
}
await import(cli.href);
