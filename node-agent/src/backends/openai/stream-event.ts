import type { ErrorCode } from '@switchyard/protocol';
import { chunkText, codeForStatus, type OpenAiApi, serverError, usageCompletionTokens } from './openai-wire.js';

/** What one server-sent event of a streaming generation means for its job. */
export type StreamEventMeaning =
  | { readonly kind: 'done' }
  /** The event is not JSON: the stream cannot be trusted any further. */
  | { readonly kind: 'malformed'; readonly message: string }
  | { readonly kind: 'server-error'; readonly code: ErrorCode; readonly message: string }
  /** A chunk of the answer; `text` may be empty (a role-only delta, a usage-only chunk). */
  | { readonly kind: 'chunk'; readonly text: string; readonly usageTokens: number | undefined };

/** Reads one event's data: [DONE], an error object, or a chunk of text with any usage it carries. */
export function readStreamEvent(api: OpenAiApi, data: string): StreamEventMeaning {
  if (data === '[DONE]') return { kind: 'done' };
  const chunk = parseJson(data);
  if (chunk === undefined) {
    return { kind: 'malformed', message: `the model server sent an event that is not JSON: ${data.slice(0, 200)}` };
  }
  const error = serverError(chunk);
  if (error !== undefined) {
    return {
      kind: 'server-error',
      code: codeForStatus(error.status),
      message: `the model server failed mid-stream: ${error.message}`,
    };
  }
  return { kind: 'chunk', text: chunkText(api, chunk), usageTokens: usageCompletionTokens(chunk) };
}

/** Why the server refused a request, from its non-2xx answer: the error's message, else the body's start. */
export function errorResponseMessage(status: number, statusText: string, body: string): string {
  const error = serverError(parseJson(body));
  const detail = error?.message ?? (body.slice(0, 200) || statusText);
  return `the model server answered ${status}: ${detail}`;
}

/** The parsed JSON, or undefined when `text` is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
