import { readFileSync } from 'node:fs';

/** The server package's version, read once (from src/ or dist/, the package root is one up). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
