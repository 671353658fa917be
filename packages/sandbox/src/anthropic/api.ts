import { randomBytes } from 'node:crypto';
import type { ApiRoute } from '../apis.js';
import { parseJson } from '../json-body.js';

/**
 * Anthropic's Messages API and model list, shaped as https://docs.anthropic.com/en/api describes
 * them (the official `@anthropic-ai/sdk` is the reference: see contract/anthropic.contract.test.ts).
 * Models are cursor-paginated: `limit` (default 20, 1..1000), `after_id` / `before_id`, answer
 * `{ data, has_more, first_id, last_id }`. https://docs.anthropic.com/en/api/models-list
 */
const MODELS = [
  ['claude-opus-4-5', 'Claude Opus 4.5', '2025-11-24T00:00:00Z'],
  ['claude-sonnet-4-5', 'Claude Sonnet 4.5', '2025-09-29T00:00:00Z'],
  ['claude-haiku-4-5', 'Claude Haiku 4.5', '2025-10-01T00:00:00Z'],
  ['claude-opus-4-1', 'Claude Opus 4.1', '2025-08-05T00:00:00Z'],
  ['claude-sonnet-4-0', 'Claude Sonnet 4', '2025-05-22T00:00:00Z'],
].map(([id, display_name, created_at]) => ({ type: 'model', id: id!, display_name: display_name!, created_at: created_at! }));
// Every answer carries `request-id`: https://docs.anthropic.com/en/api/overview#response-headers
const requestId = () => ({ 'request-id': `req_${randomBytes(12).toString('hex')}` });
const invalid = (message: string) => ({ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message } }, headers: requestId() });

export const ANTHROPIC_ROUTES: ApiRoute[] = [
  { method: 'GET', path: /^\/v1\/models$/, handle: ({ url }) => {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return invalid('limit: Input should be less than or equal to 1000');
    const after = url.searchParams.get('after_id');
    const before = url.searchParams.get('before_id');
    let from = 0;
    let to = MODELS.length;
    if (after) from = MODELS.findIndex((m) => m.id === after) + 1;
    if (before) to = Math.max(0, MODELS.findIndex((m) => m.id === before));
    if ((after && from === 0) || (before && to === 0 && MODELS[0]?.id !== before)) return { status: 404, body: { type: 'error', error: { type: 'not_found_error', message: 'model not found' } }, headers: requestId() };
    // before_id pages backwards: the `limit` models just before the cursor.
    const page = before ? MODELS.slice(Math.max(from, to - limit), to) : MODELS.slice(from, Math.min(to, from + limit));
    const hasMore = before ? to - limit > from : from + limit < to;
    return { status: 200, headers: requestId(), body: { data: page, has_more: hasMore, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null } };
  } },
  { method: 'POST', path: /^\/v1\/messages$/, handle: ({ body }) => {
    const b = parseJson(body);
    if (!b?.model || !Array.isArray(b.messages) || typeof b.max_tokens !== 'number') return invalid('model, messages and max_tokens are required');
    return { status: 200, headers: requestId(), body: {
      id: `msg_${randomBytes(12).toString('hex')}`, type: 'message', role: 'assistant', model: b.model,
      content: [{ type: 'text', text: 'Hello from the Keyhold sandbox.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: b.messages.length * 8, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    } };
  } },
];
