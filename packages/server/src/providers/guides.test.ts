import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_DIR, loadCatalog } from '../domains/catalog/catalog.js';

/*
 * Every catalog provider has a guide in docs/providers/<id>.md, in the shape
 * docs/providers/README.md describes, whose facts point at dated sources.
 */

const REPO = path.resolve(CATALOG_DIR, '../../..');
const SECTIONS = [
  'What the operator registers',
  'What a tenant does to connect',
  'Tokens and refresh',
  'Rate limits Keyhold enforces',
  'Known quirks',
  'Sources',
];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/**
 * `- [title](https://…) — checked 2026-11-27`; numbered (`1. […](…) — checked …`) when the text
 * cites `[1]`, or labelled (`- [acg]: […](…) — checked …`) when it cites `[acg]`.
 */
const SOURCE = /^(?:-\s+(?:\[([a-z][\w-]*)\]:\s+)?|(\d+)\.\s+)\[[^\]]+\]\(https?:\/\/[^)\s]+\)\s*[—–-]\s*checked (\d{4}-\d{2}-\d{2})\b/;
const today = () => new Date().toISOString().slice(0, 10);

/** The guide's level-2 sections, in order, each with its lines. */
function sectionsOf(text: string) {
  const out: Array<{ title: string; lines: string[] }> = [];
  let inCode = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    if (!inCode && line.startsWith('## ')) out.push({ title: line.slice(3).trim(), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe.each(loadCatalog().list().map((p) => [p.id, p] as const))('provider guide: %s', (id, provider) => {
  const file = path.join(REPO, provider.docs);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';

  it('exists where the catalog entry says', () => {
    expect(provider.docs).toBe(`docs/providers/${id}.md`);
    expect(existsSync(file), `${provider.docs} is missing`).toBe(true);
  });

  it('opens with the display name and the review line, matching the catalog entry', () => {
    const [title, reviewed] = text.split('\n');
    expect(title).toBe(`# ${provider.displayName}`);
    const m = /^_Reviewed (\d{4}-\d{2}-\d{2}) · catalog entry `packages\/server\/catalog\/providers\/([a-z0-9-]+)\.yaml`_$/.exec(reviewed ?? '');
    expect(m, `second line must be "_Reviewed YYYY-MM-DD · catalog entry \`packages/server/catalog/providers/${id}.yaml\`_"`).not.toBeNull();
    expect(m![2]).toBe(id);
    expect(m![1], 'the guide\'s Reviewed date must be the entry\'s reviewedAt').toBe(provider.reviewedAt);
    expect(provider.reviewedAt).toMatch(DATE);
    expect(provider.reviewedAt <= today(), 'reviewedAt is in the future').toBe(true);
  });

  it('has the guide sections, in order', () => {
    expect(sectionsOf(text).map((s) => s.title)).toEqual(SECTIONS);
  });

  it('lists every source as a link with the day it was checked, and every numbered citation resolves', () => {
    const sources = sectionsOf(text).find((s) => s.title === 'Sources')?.lines.filter((l) => l.trim() !== '') ?? [];
    expect(sources.length, 'no sources').toBeGreaterThan(0);
    const numbers = new Set<string>();
    const labels = new Set<string>();
    // Markdown link definitions (`[acg]: https://…`) serve `[text][acg]` links; each needs its dated entry.
    const definitions = sources.filter((l) => /^\[[\w-]+\]:\s+https?:\/\//.test(l));
    for (const line of sources.filter((l) => !definitions.includes(l))) {
      const m = SOURCE.exec(line);
      expect(m, `not "- [title](url) — checked YYYY-MM-DD": ${line}`).not.toBeNull();
      expect(m![3]! <= today(), `checked in the future: ${line}`).toBe(true);
      if (m![1]) labels.add(m![1]);
      if (m![2]) numbers.add(m![2]);
    }
    const body = text.slice(0, text.indexOf('\n## Sources')).replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const [, n] of body.matchAll(/\[(\d+)\](?!\()/g)) expect(numbers.has(n!), `[${n}] is cited but not a numbered source`).toBe(true);
    // A link definition points at a source listed above with its date.
    const dated = new Set(sources.map((l) => /\]\((https?:\/\/[^)\s]+)\)/.exec(l)?.[1]).filter(Boolean));
    const defined = new Set<string>();
    for (const d of definitions) {
      const [, label, url] = /^\[([\w-]+)\]:\s+(\S+)/.exec(d)!;
      expect(dated.has(url!) || labels.has(label!) || numbers.has(label!), `${d} is not a dated source`).toBe(true);
      defined.add(label!);
    }
    for (const [, l] of body.matchAll(/\]\[([\w-]+)\]/g)) expect(labels.has(l!) || numbers.has(l!) || defined.has(l!), `[…][${l}] links to no labelled source`).toBe(true);
    // A labelled citation is `[label]` in running text (not a link's text, which is followed by `(`).
    for (const [, l] of body.matchAll(/(?<!\])\[([a-z][\w-]*)\](?![(\[:])/g)) expect(labels.has(l!), `[${l}] is cited but not a labelled source`).toBe(true);
  });
});

describe('docs/providers/README.md', () => {
  it('indexes every catalog provider with its guide and review date', () => {
    const index = readFileSync(path.join(REPO, 'docs/providers/README.md'), 'utf8');
    for (const p of loadCatalog().list()) {
      const row = index.split('\n').find((l) => l.startsWith(`| ${p.displayName} |`));
      expect(row, `no row for ${p.displayName}`).toBeDefined();
      expect(row).toContain(`](${p.id}.md)`);
      expect(row!.trim().endsWith(`| ${p.reviewedAt} |`), `${p.displayName}: reviewed date must be ${p.reviewedAt}`).toBe(true);
    }
  });
});
