/**
 * CPU figures of the llama.cpp backend on the generated tiny model: output tokens per second and
 * time to first token (p50, p99) for closed-loop load at concurrency 1 and 4.
 *
 *   npm run build && node node-agent/dist/backends/llama-cpp/cpu-bench.js [--requests 40]
 *     [--input-tokens 128] [--output-tokens 64] [--threads N] [--model path] [--json out.json]
 *
 * Without --model it generates the tiny model at .switchyard/models/tiny-llama.gguf (once).
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { getProfile } from '@switchyard/fleet-model';
import type { BackendCompletion, BackendListener } from '../backend.js';
import { LlamaCppBackend } from './llama-cpp-backend.js';
import { DEFAULT_TINY_LLAMA_PATH, ensureTinyLlamaModel } from './tiny-llama-model.js';

const MODEL_NAME = 'tiny-llama';

/** The report goes to stdout: this file is a command, not a library. */
function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
const CONCURRENCY_LEVELS = [1, 4] as const;

interface LevelFigures {
  readonly concurrency: number;
  readonly requests: number;
  readonly wallMs: number;
  readonly outputTokensPerSecond: number;
  readonly ttftMsP50: number;
  readonly ttftMsP99: number;
  readonly totalMsP50: number;
  readonly totalMsP99: number;
}

/** Nearest-rank percentile of `values` (0 < p ≤ 100). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Completes each job's promise when the backend reports it. */
class SettlingListener implements BackendListener {
  private readonly pending = new Map<
    string,
    { resolve: (completion: BackendCompletion) => void; reject: (err: Error) => void }
  >();

  wait(jobId: string): Promise<BackendCompletion> {
    return new Promise((resolve, reject) => this.pending.set(jobId, { resolve, reject }));
  }

  firstToken(): void {}

  text(): void {}

  completed(completion: BackendCompletion): void {
    this.pending.get(completion.jobId)?.resolve(completion);
    this.pending.delete(completion.jobId);
  }

  failed(jobId: string, code: string, message: string): void {
    this.pending.get(jobId)?.reject(new Error(`${jobId} failed: ${code} ${message}`));
    this.pending.delete(jobId);
  }
}

async function runLevel(
  backend: LlamaCppBackend,
  listener: SettlingListener,
  label: string,
  concurrency: number,
  requests: number,
  inputTokens: number,
  outputTokens: number,
): Promise<LevelFigures> {
  const completions: BackendCompletion[] = [];
  let issued = 0;
  const startedAtMs = performance.now();
  const worker = async (): Promise<void> => {
    while (issued < requests) {
      const id = `${label}-${issued++}`;
      const done = listener.wait(id);
      const outcome = backend.submit({
        id,
        model: MODEL_NAME,
        inputTokens,
        maxOutputTokens: outputTokens,
        priority: 'normal',
      });
      if (!outcome.ok) throw new Error(`${id} refused: ${outcome.code} ${outcome.message}`);
      completions.push(await done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - startedAtMs;
  const ttfts = completions.map((c) => c.timings.ttftMs);
  const totals = completions.map((c) => c.timings.totalMs);
  const tokens = completions.reduce((sum, c) => sum + c.outputTokens, 0);
  return {
    concurrency,
    requests,
    wallMs,
    outputTokensPerSecond: tokens / (wallMs / 1000),
    ttftMsP50: percentile(ttfts, 50),
    ttftMsP99: percentile(ttfts, 99),
    totalMsP50: percentile(totals, 50),
    totalMsP99: percentile(totals, 99),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '40' },
      'input-tokens': { type: 'string', default: '128' },
      'output-tokens': { type: 'string', default: '64' },
      threads: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const requests = Number(values.requests);
  const inputTokens = Number(values['input-tokens']);
  const outputTokens = Number(values['output-tokens']);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const counts = { requests, 'input-tokens': inputTokens, 'output-tokens': outputTokens, threads: threads ?? 1 };
  for (const [name, value] of Object.entries(counts)) {
    if (!(Number.isInteger(value) && value >= 1)) throw new Error(`--${name} must be a positive integer`);
  }
  const modelPath = values.model ?? (await ensureTinyLlamaModel(DEFAULT_TINY_LLAMA_PATH)).path;
  const listener = new SettlingListener();
  const loadStartedAtMs = performance.now();
  const backend = await LlamaCppBackend.open(
    {
      modelPath,
      modelName: MODEL_NAME,
      maxConcurrency: Math.max(...CONCURRENCY_LEVELS),
      maxQueue: 0,
      ...(threads === undefined ? {} : { threads }),
      hardware: { profile: getProfile('l4')!, chipCount: 1 },
    },
    listener,
  );
  const loadMs = performance.now() - loadStartedAtMs;
  const levels: LevelFigures[] = [];
  try {
    // One short warm-up request: the first touches every weight page of the memory-mapped file.
    await runLevel(backend, listener, 'warm-up', 1, 1, inputTokens, 4);
    for (const concurrency of CONCURRENCY_LEVELS)
      levels.push(
        await runLevel(backend, listener, `c${concurrency}`, concurrency, requests, inputTokens, outputTokens),
      );
  } finally {
    await backend.release();
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  print(`llama.cpp CPU backend: ${modelPath}`);
  print(
    `${cpu}, ${availableParallelism()} cores, threads ${threads ?? 'default'}; load ${loadMs.toFixed(0)} ms; ` +
      `${requests} requests per level, ${inputTokens} prompt tokens, ${outputTokens} output tokens each`,
  );
  print('concurrency  output tok/s  TTFT p50 ms  TTFT p99 ms  total p50 ms  total p99 ms');
  for (const level of levels) {
    print(
      [
        String(level.concurrency).padStart(11),
        level.outputTokensPerSecond.toFixed(0).padStart(13),
        level.ttftMsP50.toFixed(1).padStart(12),
        level.ttftMsP99.toFixed(1).padStart(12),
        level.totalMsP50.toFixed(1).padStart(13),
        level.totalMsP99.toFixed(1).padStart(13),
      ].join(''),
    );
  }
  if (values.json !== undefined) {
    const report = {
      modelPath,
      cpu,
      cores: availableParallelism(),
      threads: threads ?? null,
      loadMs,
      inputTokens,
      outputTokens,
      levels,
    };
    await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cpu-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
