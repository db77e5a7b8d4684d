import { describe, expect, it } from 'vitest';
import { chunkText, codeForStatus, serverError, streamingRequestBody, usageCompletionTokens } from './openai-wire.js';

describe('OpenAI wire', () => {
  it.each([
    [400, 'INVALID_REQUEST'],
    [413, 'INVALID_REQUEST'],
    [422, 'INVALID_REQUEST'],
    [404, 'UNKNOWN_MODEL'],
    [429, 'OVERLOADED'],
    [503, 'OVERLOADED'],
    [502, 'NODE_LOST'],
    [504, 'NODE_LOST'],
    [500, 'INTERNAL'],
    [401, 'INTERNAL'],
    [undefined, 'INTERNAL'],
  ] as const)('maps HTTP %s to %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it('reads errors in the nested (vLLM ≥ 0.10.1), flat (older vLLM) and TGI shapes', () => {
    expect(serverError({ error: { message: 'bad', type: 'BadRequestError', param: null, code: 400 } })).toEqual({
      message: 'bad',
      status: 400,
    });
    expect(serverError({ object: 'error', message: 'old', type: 'BadRequestError', code: 400 })).toEqual({
      message: 'old',
      status: 400,
    });
    expect(serverError({ error: 'Input validation error', error_type: 'validation' })).toEqual({
      message: 'Input validation error',
      status: undefined,
    });
    expect(serverError({ choices: [{ text: 'x' }] })).toBeUndefined();
  });

  it('takes text from choices[0].text or choices[0].delta.content, and nothing from other chunks', () => {
    expect(chunkText('completions', { choices: [{ index: 0, text: ' hi' }] })).toBe(' hi');
    expect(chunkText('chat', { choices: [{ index: 0, delta: { content: ' hi' } }] })).toBe(' hi');
    expect(chunkText('chat', { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })).toBe('');
    expect(chunkText('chat', { choices: [{ index: 0, delta: { reasoning_content: 'hmm' } }] })).toBe('');
    expect(chunkText('completions', { choices: [], usage: { completion_tokens: 3 } })).toBe('');
    expect(usageCompletionTokens({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } })).toBe(3);
    expect(usageCompletionTokens({ choices: [{ text: 'x' }], usage: null })).toBeUndefined();
  });

  it('asks for a stream with the usage chunk, in the shape of the chosen endpoint', () => {
    expect(JSON.parse(streamingRequestBody('chat', 'm', 'hello', 7))).toEqual({
      model: 'm',
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(JSON.parse(streamingRequestBody('completions', 'm', 'hello', 7))).toMatchObject({ prompt: 'hello' });
  });
});
