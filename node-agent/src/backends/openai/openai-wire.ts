import type { ChatTurn } from '../backend.js';
import { chatTranscript } from '../chat-transcript.js';
import type { ErrorCode } from '@switchyard/protocol';

/**
 * The OpenAI-compatible wire as vLLM, SGLang and TGI serve it: the request bodies this backend
 * sends, the parts of streamed chunks it reads, and how a server's error becomes a Switchyard code.
 */

/** Which endpoint generates: `/v1/completions` (raw prompt) or `/v1/chat/completions` (one user message). */
export type OpenAiApi = 'completions' | 'chat';

/** Path of the generating endpoint for `api`. */
export function generationPath(api: OpenAiApi): string {
  return api === 'chat' ? '/v1/chat/completions' : '/v1/completions';
}

/**
 * A streaming request body. Only standard OpenAI fields, so any compatible server accepts it (no
 * vLLM `priority`, which vLLM refuses unless started with a priority scheduling policy).
 * `stream_options.include_usage` asks for the closing usage chunk with the exact token count.
 */
export function streamingRequestBody(
  api: OpenAiApi,
  model: string,
  prompt: string,
  maxTokens: number,
  history: readonly ChatTurn[] = [],
): string {
  const common = { model, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } };
  if (api === 'chat') {
    const messages = history.flatMap((turn) => [
      { role: 'user', content: turn.prompt },
      { role: 'assistant', content: turn.answer },
    ]);
    return JSON.stringify({ ...common, messages: [...messages, { role: 'user', content: prompt }] });
  }
  // Raw completions have no roles: the history is a plain transcript ahead of the new prompt.
  return JSON.stringify({ ...common, prompt: chatTranscript(history, prompt) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Text a streamed chunk carries: `choices[0].text` for completions, `choices[0].delta.content` for
 * chat. '' for chunks without text: chat's opening `{role: "assistant", content: ""}`, the usage
 * chunk (`choices: []`), a finish chunk, reasoning or tool-call deltas.
 */
export function chunkText(api: OpenAiApi, chunk: unknown): string {
  if (!isRecord(chunk) || !Array.isArray(chunk['choices'])) return '';
  const choice: unknown = chunk['choices'][0];
  if (!isRecord(choice)) return '';
  if (api === 'completions') return typeof choice['text'] === 'string' ? choice['text'] : '';
  const delta = choice['delta'];
  return isRecord(delta) && typeof delta['content'] === 'string' ? delta['content'] : '';
}

/** `usage.completion_tokens` of a chunk (sent in the closing usage chunk), when present. */
export function usageCompletionTokens(chunk: unknown): number | undefined {
  if (!isRecord(chunk) || !isRecord(chunk['usage'])) return undefined;
  const tokens = chunk['usage']['completion_tokens'];
  return typeof tokens === 'number' && Number.isInteger(tokens) && tokens >= 0 ? tokens : undefined;
}

/** A server error, from a response body or a mid-stream `data: {"error": …}` event. */
export interface ServerError {
  readonly message: string;
  /** The HTTP-like status the server put in the error (`code`), when it is a number. */
  readonly status: number | undefined;
}

/**
 * The error a body carries: `{"error": {message, type, param, code}}` (vLLM ≥ 0.10.1, OpenAI) or
 * the flat `{"object": "error", message, type, code}` of older vLLM; undefined when it is not one.
 * TGI's `{"error": "text", "error_type": …}` is read too.
 */
export function serverError(body: unknown): ServerError | undefined {
  if (!isRecord(body)) return undefined;
  const nested = body['error'];
  const source = isRecord(nested) ? nested : body['object'] === 'error' ? body : undefined;
  if (source === undefined) {
    return typeof nested === 'string' ? { message: nested, status: undefined } : undefined;
  }
  const message = typeof source['message'] === 'string' ? source['message'] : JSON.stringify(source);
  const code = source['code'];
  return { message, status: typeof code === 'number' ? code : undefined };
}

/**
 * The Switchyard code for a model server's HTTP status. Refusals a client must fix stay
 * non-retryable; saturation (429, 503) is OVERLOADED and a broken gateway (502, 504) NODE_LOST, both
 * retryable elsewhere; any other failure of the server is INTERNAL.
 */
export function codeForStatus(status: number | undefined): ErrorCode {
  if (status === undefined) return 'INTERNAL';
  if (status === 400 || status === 413 || status === 422) return 'INVALID_REQUEST';
  if (status === 404) return 'UNKNOWN_MODEL';
  if (status === 429 || status === 503) return 'OVERLOADED';
  if (status === 502 || status === 504) return 'NODE_LOST';
  return 'INTERNAL';
}

/**
 * Why fetch failed, in words: undici wraps the socket error (ECONNREFUSED, ECONNRESET, "other side
 * closed") in `cause`, and reports a body cut mid-stream as TypeError("terminated").
 */
export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (!(cause instanceof Error)) return err.message;
  const code = (cause as NodeJS.ErrnoException).code;
  return code === undefined || cause.message.includes(code)
    ? `${err.message}: ${cause.message}`
    : `${err.message}: ${cause.message} (${code})`;
}
