import { randomBytes } from 'node:crypto';
import type { ApiRoute } from '../apis.js';
import { parseJson } from '../json-body.js';

/**
 * OpenAI's chat completions and models, shaped as https://platform.openai.com/docs/api-reference
 * describes them (the official `openai` client is the reference: see contract/openai.contract.test.ts).
 * `GET /v1/models` is one page (`{ object: 'list', data }`), not cursor-paginated.
 * https://platform.openai.com/docs/api-reference/models/list
 */
const now = () => Math.floor(Date.now() / 1000);
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'o3-mini', 'text-embedding-3-small'].map((id) => ({ id, object: 'model', created: 1_715_367_049, owned_by: 'system' }));
// Every answer carries a request id: https://platform.openai.com/docs/api-reference/debugging-requests
const requestId = () => ({ 'x-request-id': `req_${randomBytes(16).toString('hex')}` });

export const OPENAI_ROUTES: ApiRoute[] = [
  { method: 'GET', path: /^\/v1\/models$/, handle: () => ({ status: 200, body: { object: 'list', data: MODELS }, headers: requestId() }) },
  { method: 'POST', path: /^\/v1\/chat\/completions$/, handle: ({ body }) => {
    const b = parseJson(body);
    if (!b?.model || !Array.isArray(b.messages)) return { status: 400, body: { error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' } }, headers: requestId() };
    return { status: 200, headers: requestId(), body: {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`, object: 'chat.completion', created: now(), model: b.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the Keyhold sandbox.', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: b.messages.length * 8, completion_tokens: 7, total_tokens: b.messages.length * 8 + 7 },
      service_tier: 'default', system_fingerprint: null,
    } };
  } },
];
