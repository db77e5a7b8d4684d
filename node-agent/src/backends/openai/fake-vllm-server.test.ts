import { afterEach, describe, expect, it } from 'vitest';
import { FakeVllmServer } from './fake-vllm-server.js';
import { fakeTokens } from './fake-vllm-wire.js';
import { readServerLoad } from './server-metrics.js';

let fake: FakeVllmServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(fake!.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The JSON payloads of a raw SSE body, checking its framing on the way. */
function events(raw: string): string[] {
  expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
  const blocks = raw.split('\n\n').slice(0, -1);
  for (const block of blocks) expect(block).toMatch(/^data: /);
  return blocks.map((block) => block.slice('data: '.length));
}

describe('FakeVllmServer (vLLM 0.11 wire format)', () => {
  it('streams completions as text_completion chunks, then the usage chunk, then [DONE]', async () => {
    fake = await FakeVllmServer.start({ models: ['m'], tokensPerSecond: Number.POSITIVE_INFINITY });
    const response = await post('/v1/completions', {
      model: 'm',
      prompt: 'hello there',
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const payloads = events(await response.text());
    const tokens = fakeTokens('hello there', 3);
    expect(payloads.slice(0, -1).map((p) => JSON.parse(p) as unknown)).toEqual([
      ...tokens.map((text, i) => ({
        id: expect.stringMatching(/^cmpl-[0-9a-f]{32}$/) as unknown,
        object: 'text_completion',
        created: expect.any(Number) as unknown,
        model: 'm',
        choices: [
          {
            index: 0,
            text,
            logprobs: null,
            finish_reason: i === 2 ? 'length' : null,
            stop_reason: null,
            prompt_token_ids: null,
            token_ids: null,
          },
        ],
        usage: null,
      })),
      {
        id: expect.any(String) as unknown,
        object: 'text_completion',
        created: expect.any(Number) as unknown,
        model: 'm',
        choices: [],
        usage: { prompt_tokens: 3, total_tokens: 6, completion_tokens: 3 },
      },
    ]);
    expect(payloads.at(-1)).toBe('[DONE]');
    expect(fake.finished).toBe(1);
  });

  it('streams chat as a role chunk, content deltas and finish_reason on the last', async () => {
    fake = await FakeVllmServer.start({ models: ['m'], tokensPerSecond: Number.POSITIVE_INFINITY });
    const response = await post('/v1/chat/completions', {
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
      stream: true,
    });
    const chunks = events(await response.text())
      .slice(0, -1)
      .map((p) => JSON.parse(p) as { object: string; choices: unknown[] });
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0])).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      { index: 0, delta: { content: fakeTokens('hi', 2)[0] }, logprobs: null, finish_reason: null, token_ids: null },
      {
        index: 0,
        delta: { content: fakeTokens('hi', 2)[1] },
        logprobs: null,
        finish_reason: 'length',
        stop_reason: null,
        token_ids: null,
      },
    ]);
  });

  it('answers without streaming, and refuses an unknown model and an over-long prompt with vLLM errors', async () => {
    fake = await FakeVllmServer.start({ models: ['m'], maxModelLen: 10, tokensPerSecond: Number.POSITIVE_INFINITY });
    const whole = (await (await post('/v1/completions', { model: 'm', prompt: 'a b', max_tokens: 2 })).json()) as {
      choices: { text: string }[];
      usage: unknown;
    };
    expect(whole.choices[0]!.text).toBe(fakeTokens('a b', 2).join(''));
    expect(whole.usage).toEqual({
      prompt_tokens: 3,
      total_tokens: 5,
      completion_tokens: 2,
      prompt_tokens_details: null,
    });
    const unknown = await post('/v1/completions', { model: 'other', prompt: 'x', max_tokens: 1 });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: 'The model `other` does not exist.', type: 'NotFoundError', param: null, code: 404 },
    });
    const tooLong = await post('/v1/completions', { model: 'm', prompt: 'x', max_tokens: 20 });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { message: string } }).error.message).toMatch(
      /maximum context length is 10 tokens/,
    );
  });

  it('serves /health, /v1/models and vLLM metrics in prometheus_client text', async () => {
    fake = await FakeVllmServer.start({ models: ['m'] });
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    fake.healthy = false;
    expect((await fetch(`${fake.url}/health`)).status).toBe(503);
    const models = (await (await fetch(`${fake.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id)).toEqual(['m']);
    const text = await (await fetch(`${fake.url}/metrics`)).text();
    expect(text).toContain(
      '# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine="0",model_name="m"} 0.0\n',
    );
    expect(text).toContain('vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.0\n');
    expect(text).toMatch(/vllm:prompt_tokens_created\{engine="0",model_name="m"\} \d\.\d+e\+09\n/);
    expect(readServerLoad(text)).toEqual({ running: 0, waiting: 0, kvCacheUsage: 0 });
  });
});
