import { readFileSync } from 'node:fs';

/** Every message Keyhold sends to people; each is `templates/notifications/<name>.txt` and `.html`. */
export const TEMPLATES = [
  'invitation',
  'password_reset',
  'trial_ending',
  'connection_needs_reauth',
  'connection_refresh_failed',
  'sync_failing',
  'webhook_endpoint_disabled',
] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export type Rendered = { subject: string; text: string; html: string };

const DIR = new URL('../../../templates/notifications/', import.meta.url);
const cache = new Map<string, { subject: string; text: string; html: string }>();

/** Read on first use, not at import. The text file's first line is `Subject: …`, then a blank line. */
function load(name: TemplateName) {
  let t = cache.get(name);
  if (!t) {
    const raw = readFileSync(new URL(`${name}.txt`, DIR), 'utf8');
    const m = /^Subject: (.+)\n\n([\s\S]*)$/.exec(raw);
    if (!m) throw new Error(`template ${name}.txt must start with "Subject: …" and a blank line`);
    t = { subject: m[1]!, text: m[2]!, html: readFileSync(new URL(`${name}.html`, DIR), 'utf8') };
    cache.set(name, t);
  }
  return t;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
// Control characters would let a value break out of a line (a header, a list); none belongs in a message.
// eslint-disable-next-line no-control-regex
const oneLine = (v: string) => v.replace(/[\u0000-\u001f\u007f]+/g, ' ');

function fill(template: string, vars: Readonly<Record<string, string>>, encode: (v: string) => string, name: string): string {
  return template.replace(/\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g, (_, key: string) => {
    const value = vars[key];
    // A missing variable is a bug in the caller: refuse rather than send a message with a hole.
    if (value === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return encode(oneLine(value));
  });
}

/**
 * The one renderer: `{{name}}` placeholders only (no logic), every value HTML-escaped in the HTML
 * part and stripped of control characters everywhere, so a value (an organisation name, a
 * connection label) can neither inject markup nor add lines or headers.
 */
export function render(name: TemplateName, vars: Readonly<Record<string, string>>): Rendered {
  const t = load(name);
  return { subject: fill(t.subject, vars, (v) => v, name), text: fill(t.text, vars, (v) => v, name), html: fill(t.html, vars, escapeHtml, name) };
}
