#!/usr/bin/env node
// Writes the files derived from the catalog schema (catalog/provider.schema.json and the contract's
// PROVIDER_FIELDS). Runs on the built server: `npm run catalog:generate` builds first.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { catalogArtifacts } from '../dist/domains/catalog/artifacts.js';

const root = path.resolve(import.meta.dirname, '../../..');
for (const { file, content } of catalogArtifacts()) {
  const current = await readFile(file, 'utf8').catch(() => null);
  const name = path.relative(root, file);
  if (current === content) {
    console.log(`unchanged ${name}`);
  } else {
    await writeFile(file, content);
    console.log(`wrote     ${name}`);
  }
}
