import type { Reply } from './providers.js';
import type { SandboxRequest } from './server.js';

/** An email the sandbox's Resend accepted. */
export type CapturedEmail = { id: string; from: string; to: string[]; subject: string; html: string; text: string; idempotencyKey: string | null; apiKey: string; at: string };
/** A message the sandbox's Slack accepted with chat.postMessage. */
export type CapturedPost = { channel: string; text: string; ts: string; token: string; at: string };

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function parsed(r: SandboxRequest): Record<string, unknown> {
  try {
    if (String(r.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(r.body));
    const v = JSON.parse(r.body) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * What the sandbox's providers delivered to people: Resend's accepted emails (an inbox per
 * recipient) and Slack's accepted posts. Tests and `npm run demo` read them at
 * `GET /_sandbox/resend/inbox?to=<address>` and `GET /_sandbox/slack/posts?channel=<id>`.
 */
export function createCaptures() {
  const emails: CapturedEmail[] = [];
  const posts: CapturedPost[] = [];
  const bearer = (r: SandboxRequest) => /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1] ?? '';

  const api = {
    /** Emails sent to `to` (every email without it), oldest first. */
    inbox: (to?: string) => emails.filter((e) => to === undefined || e.to.some((t) => t.toLowerCase() === to.toLowerCase())),
    /** Posts to `channel` (every post without it), oldest first. */
    posts: (channel?: string) => posts.filter((p) => channel === undefined || p.channel === channel),
    clear() {
      emails.length = 0;
      posts.length = 0;
    },
  };

  return {
    api,
    /** Called with every answered request: keeps what a provider accepted. */
    observe(r: SandboxRequest, reply: Reply) {
      const answer = (reply.body ?? {}) as Record<string, unknown>;
      if (r.provider === 'resend' && r.method === 'POST' && r.path === '/emails' && reply.status === 200) {
        const b = parsed(r);
        emails.push({ id: str(answer.id), from: str(b.from), to: strings(b.to), subject: str(b.subject), html: str(b.html), text: str(b.text), idempotencyKey: (r.headers['idempotency-key'] as string | undefined) ?? null, apiKey: bearer(r), at: new Date().toISOString() });
      }
      if (r.provider === 'slack' && r.path === '/api/chat.postMessage' && answer.ok === true) {
        const b = parsed(r);
        posts.push({ channel: str(b.channel), text: str(b.text), ts: str(answer.ts), token: bearer(r) || str(b.token), at: new Date().toISOString() });
      }
    },
    /** `/_sandbox/…` viewing routes; null for another path. */
    route(method: string, path: string, url: URL): Reply | null {
      if (method !== 'GET') return null;
      // Credentials stay out of the viewing routes (tests read them through `captures`).
      if (path === '/resend/inbox') return { status: 200, body: { data: api.inbox(url.searchParams.get('to') ?? undefined).map(({ apiKey: _, ...e }) => e) } };
      if (path === '/slack/posts') return { status: 200, body: { data: api.posts(url.searchParams.get('channel') ?? undefined).map(({ token: _, ...p }) => p) } };
      return null;
    },
  };
}
