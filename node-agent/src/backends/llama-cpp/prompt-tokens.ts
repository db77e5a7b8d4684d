import type { ErrorCode } from '@switchyard/protocol';
import type { LlamaModel, Token } from 'node-llama-cpp';
import type { BackendJob } from '../backend.js';
import { chatTranscript } from '../chat-transcript.js';
import { syntheticPromptText } from './synthetic-prompt.js';

/** Why the llama.cpp backend will not take a job: a typed code and a message for the client. */
export type Refusal = { readonly ok: false; readonly code: ErrorCode; readonly message: string };

export function refuse(code: ErrorCode, message: string): Refusal {
  return { ok: false, code, message };
}

function tokenize(model: LlamaModel, text: string): Token[] {
  return model.tokens.shouldPrependBosToken
    ? model.tokenize(text, false, 'trimLeadingSpace')
    : model.tokenize(text, false);
}

/**
 * A job's prompt as `model`'s tokens (the BOS the model wants is added later), or why it cannot
 * run in a context of `contextSize` tokens: a job that sent token counts instead of text gets a
 * synthetic prompt of that length; a session's earlier exchanges go before its prompt, since
 * llama.cpp keeps no context between jobs here.
 */
export function promptTokens(model: LlamaModel, contextSize: number, job: BackendJob): Token[] | Refusal {
  if (!(Number.isInteger(job.maxOutputTokens) && job.maxOutputTokens >= 1))
    return refuse('INVALID_REQUEST', `maxOutputTokens must be a positive integer, got ${job.maxOutputTokens}`);
  const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? 1 : 0;
  const room = contextSize - bos - job.maxOutputTokens;
  const tooLong = (tokens: number): Refusal =>
    refuse(
      'INVALID_REQUEST',
      `prompt (${tokens} tokens) plus maxOutputTokens (${job.maxOutputTokens}) exceed the context of ${contextSize} tokens`,
    );
  let tokens: Token[];
  if (job.prompt === undefined) {
    if (job.inputTokens > room) return tooLong(job.inputTokens);
    tokens = tokenize(model, syntheticPromptText(job.id, job.inputTokens)).slice(0, job.inputTokens);
  } else {
    tokens = tokenize(model, chatTranscript(job.history, job.prompt));
    if (tokens.length > room) return tooLong(tokens.length);
  }
  if (tokens.length + bos === 0)
    return refuse('INVALID_REQUEST', 'the prompt is empty and the model adds no BOS token');
  return tokens;
}
