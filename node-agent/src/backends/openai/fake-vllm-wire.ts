/**
 * The bodies the fake vLLM server writes, byte for byte in vLLM 0.11's format. Checked against
 * vLLM's own source (vllm-project/vllm, 0.11 line):
 * - `vllm/entrypoints/openai/serving_completion.py` (`completion_stream_generator`): one
 *   `data: {json}\n\n` event per step, `object: "text_completion"`, `choices[].text`,
 *   `finish_reason`/`stop_reason` null until the last; with `stream_options.include_usage` a closing
 *   chunk with `choices: []` and `usage`; then `data: [DONE]\n\n`. Chunks dump with
 *   exclude_unset=False (every field, nulls too).
 * - `serving_chat.py` (`chat_completion_stream_generator`): `object: "chat.completion.chunk"`,
 *   first a `delta: {role: "assistant", content: ""}` chunk, then `delta: {content}`; dumped with
 *   exclude_unset=True; the usage chunk with exclude_none.
 * - `serving_engine.py`: errors are `{"error": {message, type, param, code}}` (since 0.10.1), also
 *   inside the stream as `data: {"error": …}` before `[DONE]`; unknown model 404 NotFoundError,
 *   prompt over the context 400 BadRequestError.
 * - `vllm/v1/metrics/loggers.py` (PrometheusStatLogger): gauges `vllm:num_requests_running`,
 *   `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc` (`vllm:gpu_cache_usage_perc` only with
 *   `--show-hidden-metrics-for-version=0.10`, removed in 0.12), labels `engine` and `model_name`,
 *   written by Python prometheus_client (labels sorted, floats as `1.0`, counters with `_total` and
 *   `_created`).
 * Fields only some requests carry (logprobs, token ids, tool calls) are left null or out.
 */

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo'];

/** The tokens the fake generates for a prompt (chat: the messages' contents joined by '\n'). */
export function fakeTokens(prompt: string, count: number): string[] {
  let hash = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) hash = Math.imul(hash ^ prompt.charCodeAt(i), 0x01000193) >>> 0;
  return Array.from({ length: count }, (_, i) => ' ' + WORDS[(hash + i * 7) % WORDS.length]!);
}

/** Tokens a chat template adds around the messages, in the fake's count. */
const CHAT_TEMPLATE_TOKENS = 10;

/** Prompt tokens the fake counts: one per whitespace-separated word, plus BOS (chat: plus the template). */
export function promptTokenCount(text: string, chat: boolean): number {
  const words = text.split(/\s+/).filter((word) => word !== '').length;
  return words + 1 + (chat ? CHAT_TEMPLATE_TOKENS : 0);
}

/** The prompt of a chat request: its messages' contents joined by '\n'; undefined if malformed. */
export function chatPrompt(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  const contents: string[] = [];
  for (const message of messages as unknown[]) {
    if (typeof message !== 'object' || message === null) return undefined;
    const content = (message as Record<string, unknown>)['content'];
    if (typeof content !== 'string') return undefined;
    contents.push(content);
  }
  return contents.join('\n');
}

/** What the bodies of one generation request need to know. */
export interface FakeGeneration {
  readonly chat: boolean;
  readonly id: string;
  readonly model: string;
  /** Unix seconds, vLLM's `created`. */
  readonly created: number;
  readonly promptTokens: number;
  /** Tokens generated so far. */
  readonly sentTokens: number;
}

/** The SSE events for one step's text (chat opens with its role chunk on the first step). */
export function streamEvents(request: FakeGeneration, text: string, first: boolean, last: boolean): string {
  const head = { id: request.id, object: '', created: request.created, model: request.model };
  const finish = last ? 'length' : null;
  if (!request.chat) {
    const choice = {
      index: 0,
      text,
      logprobs: null,
      finish_reason: finish,
      stop_reason: null,
      prompt_token_ids: null,
      token_ids: null,
    };
    return `data: ${JSON.stringify({ ...head, object: 'text_completion', choices: [choice], usage: null })}\n\n`;
  }
  const chunkHead = { ...head, object: 'chat.completion.chunk' };
  const opening = first
    ? `data: ${JSON.stringify({
        ...chunkHead,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
        prompt_token_ids: null,
      })}\n\n`
    : '';
  const choice = last
    ? { index: 0, delta: { content: text }, logprobs: null, finish_reason: finish, stop_reason: null, token_ids: null }
    : { index: 0, delta: { content: text }, logprobs: null, finish_reason: null, token_ids: null };
  return `${opening}data: ${JSON.stringify({ ...chunkHead, choices: [choice] })}\n\n`;
}

/** The closing usage chunk sent when `stream_options.include_usage` is set. */
export function usageChunk(request: FakeGeneration): unknown {
  return {
    id: request.id,
    object: request.chat ? 'chat.completion.chunk' : 'text_completion',
    created: request.created,
    model: request.model,
    choices: [],
    usage: {
      prompt_tokens: request.promptTokens,
      total_tokens: request.promptTokens + request.sentTokens,
      completion_tokens: request.sentTokens,
    },
  };
}

/** The whole answer of a request that did not ask to stream. */
export function fullResponse(request: FakeGeneration, text: string): unknown {
  const usage = {
    prompt_tokens: request.promptTokens,
    total_tokens: request.promptTokens + request.sentTokens,
    completion_tokens: request.sentTokens,
    prompt_tokens_details: null,
  };
  const head = { id: request.id, created: request.created, model: request.model };
  if (!request.chat) {
    return {
      id: head.id,
      object: 'text_completion',
      created: head.created,
      model: head.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: 'length', stop_reason: null, prompt_logprobs: null }],
      usage,
      kv_transfer_params: null,
    };
  }
  const message = {
    role: 'assistant',
    content: text,
    refusal: null,
    annotations: null,
    audio: null,
    function_call: null,
    tool_calls: [],
    reasoning_content: null,
  };
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'length', stop_reason: null }],
    service_tier: null,
    system_fingerprint: null,
    usage,
    prompt_logprobs: null,
    kv_transfer_params: null,
  };
}

/** An error body, as vLLM sends it with an HTTP error or inside a stream. */
export function errorBody(type: string, message: string, code: number): unknown {
  return { error: { message, type, param: null, code } };
}

/** `GET /v1/models`. */
export function modelList(models: readonly string[], created: number, maxModelLen: number): unknown {
  return {
    object: 'list',
    data: models.map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: id,
      parent: null,
      max_model_len: maxModelLen,
      permission: [
        {
          id: `modelperm-${id}`,
          object: 'model_permission',
          created,
          allow_create_engine: false,
          allow_sampling: true,
          allow_logprobs: true,
          allow_search_indices: false,
          allow_view: true,
          allow_fine_tuning: false,
          organization: '*',
          group: null,
          is_blocking: false,
        },
      ],
    })),
  };
}

/** The figures `/metrics` shows. */
export interface FakeEngineFigures {
  readonly model: string;
  readonly startedAtS: number;
  readonly running: number;
  readonly waiting: number;
  readonly kvCacheMetric: string;
  readonly kvCacheUsage: number;
  readonly promptTokensTotal: number;
  readonly generationTokensTotal: number;
}

/** Prometheus text as vLLM's prometheus_client writes it (one engine). */
export function metricsText(figures: FakeEngineFigures): string {
  const labels = `{engine="0",model_name="${figures.model}"}`;
  const gauge = (name: string, help: string, value: number): string =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${labels} ${pythonFloat(value)}\n`;
  const counter = (name: string, help: string, value: number): string =>
    `# HELP ${name}_total ${help}\n# TYPE ${name}_total counter\n${name}_total${labels} ${pythonFloat(value)}\n` +
    `# HELP ${name}_created ${help}\n# TYPE ${name}_created gauge\n${name}_created${labels} ${pythonFloat(figures.startedAtS)}\n`;
  return (
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', figures.running) +
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', figures.waiting) +
    gauge(figures.kvCacheMetric, 'KV-cache usage. 1 means 100 percent usage.', figures.kvCacheUsage) +
    counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', figures.promptTokensTotal) +
    counter('vllm:generation_tokens', 'Number of generation tokens processed.', figures.generationTokensTotal) +
    counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', 0)
  );
}

/** A number as Python's prometheus_client (floatToGoString) prints it: `1.0`, `0.25`, `1.7e+09`. */
export function pythonFloat(value: number): string {
  const text = Number.isInteger(value) ? `${value}.0` : String(value);
  const dot = text.indexOf('.');
  if (value > 0 && dot > 6) {
    const digits = text.slice(0, dot) + text.slice(dot + 1);
    const mantissa = `${digits[0]}.${digits.slice(1)}`.replace(/0+$/, '').replace(/\.$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return text;
}
