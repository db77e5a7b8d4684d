/**
 * `node node-agent/dist/backends/openai/overhead-bench.js [--requests 600] [--tokens 512] [--concurrency 1] [--json PATH]`
 *
 * What the OpenAI backend costs on top of talking to the model server yourself. The same streaming
 * requests go to a fake vLLM on loopback (every token at once, so no model time hides the cost)
 * three ways, interleaved request by request so that drift hits all alike:
 * - `fetch`: POST and read the body to its end (the floor: HTTP and the server's own writes);
 * - `fetch+parse`: the same plus SSE parsing and JSON.parse of every event (what any client needs
 *   to get the text out);
 * - `backend`: OpenAiBackend.submit to `completed` (queue, slots, stall timer, listener calls).
 * Per request: submit (or fetch) to the last byte of a 1-token answer. Per token: the marginal
 * cost of a token, from answers of `--tokens` tokens. Prints p50/p99 of each and the backend's
 * ratio to each baseline; `--json` also writes them as JSON. The fake server runs in this process,
 * so its cost is in every column alike.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getProfile } from '@switchyard/fleet-model';
import type { ErrorCode } from '@switchyard/protocol';
import type { BackendCompletion, BackendListener } from '../backend.js';
import { FakeVllmServer } from './fake-vllm-server.js';
import { OpenAiBackend } from './openai-backend.js';
import { chunkText, streamingRequestBody } from './openai-wire.js';
import { pipeSseBody, SseParser } from './sse.js';

type Way = 'fetch' | 'fetch+parse' | 'backend';
const WAYS: readonly Way[] = ['fetch', 'fetch+parse', 'backend'];

/** Resolves each job's completion; the bench's only listener. */
class AwaitingListener implements BackendListener {
  private readonly waiting = new Map<string, { resolve: (c: BackendCompletion) => void; reject: (e: Error) => void }>();

  next(jobId: string): Promise<BackendCompletion> {
    return new Promise((resolve, reject) => this.waiting.set(jobId, { resolve, reject }));
  }
  firstToken(): void {}
  text(): void {}
  completed(completion: BackendCompletion): void {
    this.waiting.get(completion.jobId)?.resolve(completion);
    this.waiting.delete(completion.jobId);
  }
  failed(jobId: string, code: ErrorCode, message: string): void {
    this.waiting.get(jobId)?.reject(new Error(`${jobId} failed: ${code} ${message}`));
    this.waiting.delete(jobId);
  }
}

interface Runner {
  /** Runs request `i`; resolves with its duration in ms. */
  run(way: Way, i: number): Promise<number>;
}

function prompt(i: number): string {
  return `overhead bench request ${i}`;
}

function runner(url: string, tokens: number, backend: OpenAiBackend, listener: AwaitingListener): Runner {
  const post = (i: number): Promise<Response> =>
    fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: streamingRequestBody('completions', 'bench-model', prompt(i), tokens),
    });
  return {
    async run(way, i) {
      const started = performance.now();
      if (way === 'backend') {
        const done = listener.next(`${way}-${i}`);
        const outcome = backend.submit({
          id: `${way}-${i}`,
          model: 'bench-model',
          inputTokens: 4,
          maxOutputTokens: tokens,
          priority: 'normal',
          prompt: prompt(i),
        });
        if (!outcome.ok) throw new Error(`submit refused: ${outcome.code} ${outcome.message}`);
        const completion = await done;
        if (completion.outputTokens !== tokens)
          throw new Error(`expected ${tokens} tokens, got ${completion.outputTokens}`);
        return performance.now() - started;
      }
      const response = await post(i);
      if (response.body === null) throw new Error('no body');
      if (way === 'fetch') {
        const reader = response.body.getReader();
        let bytes = 0;
        for (let read = await reader.read(); !read.done; read = await reader.read()) bytes += read.value.length;
        if (bytes === 0) throw new Error('empty body');
        return performance.now() - started;
      }
      let text = '';
      const parser = new SseParser({
        onEvent: (event) => {
          if (event.data !== '[DONE]') text += chunkText('completions', JSON.parse(event.data) as unknown);
        },
      });
      await pipeSseBody(response.body, parser);
      if (text === '') throw new Error('no text');
      return performance.now() - started;
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** p50 and p99 of `values`. */
function quantiles(values: readonly number[]): { readonly p50: number; readonly p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/**
 * Durations (ms) of `requests` requests of `tokens` tokens each way, in rounds of `concurrency`,
 * rotating which way goes first; the first 50 of each way warm the JIT and connections up.
 */
export async function measureWays(
  requests: number,
  tokens: number,
  concurrency: number,
): Promise<Record<Way, number[]>> {
  const fake = await FakeVllmServer.start({ models: ['bench-model'], tokensPerSecond: Number.POSITIVE_INFINITY });
  const listener = new AwaitingListener();
  const backend = new OpenAiBackend(
    {
      baseUrl: fake.url,
      models: ['bench-model'],
      api: 'completions',
      maxConcurrency: concurrency,
      maxQueue: concurrency,
      requestTimeoutMs: 30_000,
      healthIntervalMs: 60_000,
      hardware: { profile: getProfile('h100')!, chipCount: 8 },
    },
    listener,
  );
  try {
    await backend.refresh();
    const run = runner(fake.url, tokens, backend, listener);
    const times: Record<Way, number[]> = { fetch: [], 'fetch+parse': [], backend: [] };
    const warmup = Math.min(50, requests);
    for (let round = 0; round * concurrency < warmup + requests; round++) {
      const order = WAYS.map((_, k) => WAYS[(k + round) % WAYS.length]!);
      for (const way of order) {
        const batch = Array.from({ length: concurrency }, (_, k) => run.run(way, round * concurrency + k));
        const durations = await Promise.all(batch);
        if (round * concurrency >= warmup) times[way].push(...durations);
      }
    }
    return times;
  } finally {
    backend.close();
    await fake.close();
  }
}

/** Per way: request latency at 1 token, and the marginal cost of each further token. */
export interface OverheadResult {
  readonly perRequestMs: { readonly p50: number; readonly p99: number };
  readonly perTokenUs: { readonly p50: number; readonly p99: number };
}

/**
 * Per request: latency of 1-token requests. Per token: each long request's latency less the
 * 1-token p50 of the same way, over its tokens − 1 (the marginal cost of a token).
 */
export async function measureOverhead(
  requests: number,
  tokens: number,
  concurrency: number,
): Promise<Record<Way, OverheadResult>> {
  const short = await measureWays(requests, 1, concurrency);
  const long = await measureWays(requests, tokens, concurrency);
  const result = (way: Way): OverheadResult => {
    const perRequestMs = quantiles(short[way]);
    const perTokenUs = quantiles(long[way].map((ms) => ((ms - perRequestMs.p50) * 1000) / (tokens - 1)));
    return { perRequestMs, perTokenUs };
  };
  return { fetch: result('fetch'), 'fetch+parse': result('fetch+parse'), backend: result('backend') };
}

function ratio(a: number, b: number): string {
  return `×${(a / b).toFixed(2)}`;
}

function row(label: string, ...cells: readonly [string, string, string, string]): string {
  const widths = [11, 11, 15, 15];
  return label.padEnd(14) + cells.map((cell, i) => cell.padStart(widths[i]!)).join('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '600' },
      tokens: { type: 'string', default: '512' },
      concurrency: { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const requests = Number(values.requests);
  const tokens = Number(values.tokens);
  const concurrency = Number(values.concurrency);
  for (const [name, value] of Object.entries({ requests, tokens: tokens - 1, concurrency })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be an integer above its minimum`);
  }
  const results = await measureOverhead(requests, tokens, concurrency);
  const lines = [
    `OpenAI backend overhead: ${requests} streaming requests each way at 1 and at ${tokens} tokens, concurrency ${concurrency}, fake vLLM on loopback (Node ${process.version})`,
    row('way', 'p50 ms/req', 'p99 ms/req', 'p50 µs/token', 'p99 µs/token'),
    ...WAYS.map((way) => {
      const { perRequestMs, perTokenUs } = results[way];
      return row(
        way,
        perRequestMs.p50.toFixed(3),
        perRequestMs.p99.toFixed(3),
        perTokenUs.p50.toFixed(2),
        perTokenUs.p99.toFixed(2),
      );
    }),
    ...(['fetch', 'fetch+parse'] as const).map((base) => {
      const b = results.backend;
      const r = results[base];
      return row(
        `÷ ${base}`,
        ratio(b.perRequestMs.p50, r.perRequestMs.p50),
        ratio(b.perRequestMs.p99, r.perRequestMs.p99),
        ratio(b.perTokenUs.p50, r.perTokenUs.p50),
        ratio(b.perTokenUs.p99, r.perTokenUs.p99),
      );
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (values.json !== undefined) {
    const report = { requests, tokens, concurrency, node: process.version, results };
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
