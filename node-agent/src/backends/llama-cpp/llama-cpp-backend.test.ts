import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getProfile, powerLimitRange } from '@switchyard/fleet-model';
import type { ErrorCode } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendCompletion, BackendJob, BackendListener } from '../backend.js';
import { LlamaCppBackend } from './llama-cpp-backend.js';
import { LlamaCppBackendError, type LlamaCppBackendOptions } from './llama-cpp-options.js';
import { ensureTinyLlamaModel } from './tiny-llama-model.js';

type BackendEvent =
  | { readonly kind: 'first-token'; readonly jobId: string; readonly atMs: number }
  | { readonly kind: 'text'; readonly jobId: string; readonly chunk: string; readonly atMs: number }
  | {
      readonly kind: 'completed';
      readonly jobId: string;
      readonly completion: BackendCompletion;
      readonly atMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly jobId: string;
      readonly code: ErrorCode;
      readonly message: string;
      readonly atMs: number;
    };

/** Records every event in order; `settled(id)` resolves when the job completes or fails. */
class RecordingListener implements BackendListener {
  readonly events: BackendEvent[] = [];
  private readonly waiters = new Map<string, (() => void)[]>();

  firstToken(jobId: string): void {
    this.record({ kind: 'first-token', jobId, atMs: performance.now() });
  }

  text(jobId: string, chunk: string): void {
    this.record({ kind: 'text', jobId, chunk, atMs: performance.now() });
  }

  completed(completion: BackendCompletion): void {
    this.record({ kind: 'completed', jobId: completion.jobId, completion, atMs: performance.now() });
  }

  failed(jobId: string, code: ErrorCode, message: string): void {
    this.record({ kind: 'failed', jobId, code, message, atMs: performance.now() });
  }

  of(jobId: string): BackendEvent[] {
    return this.events.filter((event) => event.jobId === jobId);
  }

  completion(jobId: string): BackendCompletion {
    const event = this.events.find((e) => e.jobId === jobId && e.kind === 'completed');
    if (event?.kind !== 'completed')
      throw new Error(`job ${jobId} did not complete: ${JSON.stringify(this.of(jobId).at(-1))}`);
    return event.completion;
  }

  /** Resolves at the job's next event of `kind` (or at once if it already happened). */
  next(jobId: string, kind: BackendEvent['kind']): Promise<void> {
    if (this.events.some((event) => event.jobId === jobId && event.kind === kind)) return Promise.resolve();
    return new Promise((resolve) => {
      const key = `${jobId}/${kind}`;
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), resolve]);
    });
  }

  settled(jobId: string): Promise<void> {
    return Promise.race([this.next(jobId, 'completed'), this.next(jobId, 'failed')]);
  }

  private record(event: BackendEvent): void {
    this.events.push(event);
    const key = `${event.jobId}/${event.kind}`;
    for (const resolve of this.waiters.get(key) ?? []) resolve();
    this.waiters.delete(key);
  }
}

const run = promisify(execFile);
/** The compiled backend (npm run build), for the test that needs a process of its own. */
const BUILT_BACKEND = new URL('../../../dist/backends/llama-cpp/llama-cpp-backend.js', import.meta.url);
const BUILT_FLEET_MODEL = new URL('../../../../fleet-model/dist/index.js', import.meta.url);
const hardware = { profile: getProfile('l4')!, chipCount: 1 };
const MODEL = 'tiny-llama';
let directory: string;
let modelPath: string;

function options(overrides: Partial<LlamaCppBackendOptions> = {}): LlamaCppBackendOptions {
  return {
    modelPath,
    modelName: MODEL,
    maxConcurrency: 2,
    maxQueue: 4,
    threads: 1,
    contextSize: 1024,
    hardware,
    ...overrides,
  };
}

function job(id: string, overrides: Partial<BackendJob> = {}): BackendJob {
  return { id, model: MODEL, inputTokens: 32, maxOutputTokens: 24, priority: 'normal', ...overrides };
}

/** Resident bytes of this process's mappings of the model file (0 once unmapped). */
async function mappedModelBytes(): Promise<number> {
  let bytes = 0;
  let inModel = false;
  for (const line of (await readFile('/proc/self/smaps', 'utf8')).split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inModel = line.endsWith(modelPath);
    else if (inModel && line.startsWith('Rss:')) bytes += Number(line.split(/\s+/)[1]) * 1024;
  }
  return bytes;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'llama-cpp-backend-'));
  modelPath = (await ensureTinyLlamaModel(join(directory, 'tiny-llama.gguf'))).path;
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('LlamaCppBackend (llama.cpp on the CPU, generated tiny model)', () => {
  it('streams first token, then text chunks that make up the final text, then the completion', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options(), events);
    try {
      expect(backend.submit(job('a', { prompt: 'the people of the world', maxOutputTokens: 40 }))).toEqual({
        ok: true,
        queueDepth: 0,
      });
      await events.settled('a');
      const sequence = events.of('a');
      expect(sequence[0]?.kind).toBe('first-token');
      expect(sequence.at(-1)?.kind).toBe('completed');
      const chunks = sequence.flatMap((event) => (event.kind === 'text' ? [event.chunk] : []));
      expect(sequence.slice(1, -1).every((event) => event.kind === 'text')).toBe(true);
      expect(chunks.length).toBeGreaterThan(1);
      const completion = events.completion('a');
      expect(completion.text).toBe(chunks.join(''));
      expect(completion.outputTokens).toBe(40);
      expect(completion.energyJoules).toBe(0);
      const { queueMs, loadMs, ttftMs, totalMs } = completion.timings;
      expect(loadMs).toBe(0);
      expect(queueMs).toBeGreaterThanOrEqual(0);
      expect(ttftMs).toBeGreaterThanOrEqual(queueMs);
      expect(totalMs).toBeGreaterThan(ttftMs);
      expect(backend.activeJobs).toBe(0);
      expect(backend.status().busyMs).toBeGreaterThan(0);
      expect(backend.status().busyMs).toBeLessThanOrEqual(totalMs + 1);
    } finally {
      await backend.release();
    }
  });

  it('generates from the prompt: the same prompt repeats its text, another prompt gives another', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options({ maxConcurrency: 1 }), events);
    try {
      const texts: string[] = [];
      for (const [id, prompt] of [
        ['p1', 'the time of year'],
        ['p2', 'the time of year'],
        ['p3', 'what people could make'],
      ] as const) {
        backend.submit(job(id, { prompt }));
        await events.settled(id);
        texts.push(events.completion(id).text ?? '');
      }
      expect(texts[0]).not.toBe('');
      expect(texts[1]).toBe(texts[0]);
      expect(texts[2]).not.toBe(texts[0]);
    } finally {
      await backend.release();
    }
  });

  it('runs at most maxConcurrency jobs, queues the rest by priority and refuses when the queue is full', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options({ maxConcurrency: 2, maxQueue: 2 }), events);
    try {
      expect(backend.submit(job('r1', { maxOutputTokens: 60 }))).toEqual({ ok: true, queueDepth: 0 });
      expect(backend.submit(job('r2', { maxOutputTokens: 60 }))).toEqual({ ok: true, queueDepth: 0 });
      expect(backend.submit(job('low', { priority: 'low' }))).toEqual({ ok: true, queueDepth: 1 });
      expect(backend.submit(job('high', { priority: 'high' }))).toEqual({ ok: true, queueDepth: 2 });
      expect(backend.submit(job('over'))).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
      expect(backend.status()).toMatchObject({ inFlight: 2, queueDepth: 2, maxBatchSize: 2 });
      expect(backend.activeJobs).toBe(4);

      let mostRunning = 0;
      const watch = setInterval(() => (mostRunning = Math.max(mostRunning, backend.status().inFlight)), 1);
      await Promise.all(['r1', 'r2', 'low', 'high'].map((id) => events.settled(id)));
      clearInterval(watch);
      expect(mostRunning).toBeLessThanOrEqual(2);
      for (const id of ['r1', 'r2']) expect(events.completion(id).outputTokens).toBe(60);
      const startOrder = events.events.filter((e) => e.kind === 'first-token').map((e) => e.jobId);
      expect(startOrder.indexOf('high')).toBeLessThan(startOrder.indexOf('low'));
      expect(events.completion('low').timings.queueMs).toBeGreaterThan(0);
      expect(backend.status()).toMatchObject({ inFlight: 0, queueDepth: 0 });
    } finally {
      await backend.release();
    }
  });

  it('stops a cancelled job within a few tokens, reports nothing more for it and frees its sequence', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options({ maxConcurrency: 1 }), events);
    try {
      backend.submit(job('long', { maxOutputTokens: 900 }));
      backend.submit(job('waiting'));
      backend.submit(job('dropped'));
      expect(backend.cancel('dropped')).toBe(true);
      expect(backend.status().queueDepth).toBe(1);
      await events.next('long', 'first-token');
      const cancelledAtMs = performance.now();
      expect(backend.cancel('long')).toBe(true);
      expect(backend.cancel('long')).toBe(false);
      expect(backend.status().inFlight).toBe(0);
      await events.settled('waiting');

      const after = events.of('long').filter((event) => event.atMs > cancelledAtMs);
      expect(after).toEqual([]);
      expect(events.of('long').some((e) => e.kind === 'completed' || e.kind === 'failed')).toBe(false);
      expect(events.of('dropped')).toEqual([]);
      expect(events.completion('waiting').outputTokens).toBe(24);
      // 900 tokens take seconds on this model; the waiting job starts within a few steps instead.
      const waitingStartedAtMs = events.of('waiting')[0]!.atMs;
      expect(waitingStartedAtMs - cancelledAtMs).toBeLessThan(500);
      expect(backend.activeJobs).toBe(0);
    } finally {
      await backend.release();
    }
  });

  it('refuses unknown models, prompts beyond the context and duplicate ids at once', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options({ contextSize: 256 }), events);
    try {
      expect(backend.submit(job('x', { model: 'llama-3.1-8b' }))).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
      expect(backend.submit(job('y', { inputTokens: 200, maxOutputTokens: 100 }))).toMatchObject({
        ok: false,
        code: 'INVALID_REQUEST',
      });
      expect(backend.submit(job('z', { prompt: 'the '.repeat(300) }))).toMatchObject({
        ok: false,
        code: 'INVALID_REQUEST',
      });
      expect(backend.submit(job('d'))).toMatchObject({ ok: true });
      expect(backend.submit(job('d'))).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
      await events.settled('d');
      expect(events.events.filter((event) => event.jobId !== 'd')).toEqual([]);
    } finally {
      await backend.release();
    }
  });

  it('sheds concurrency under a power limit, since a CPU has no power knob', async () => {
    const backend = await LlamaCppBackend.open(options({ maxConcurrency: 4 }), new RecordingListener());
    try {
      const { minWatts, maxWatts } = powerLimitRange(hardware);
      expect(backend.status()).toMatchObject({ maxBatchSize: 4, powerLimitWatts: maxWatts, powerDrawWatts: 0 });
      const midWatts = (minWatts + maxWatts) / 2;
      expect(backend.setPowerLimit(midWatts)).toBe(midWatts);
      expect(backend.status()).toMatchObject({ maxBatchSize: 2, powerLimitWatts: midWatts });
      expect(backend.setPowerLimit(0)).toBe(minWatts);
      expect(backend.status().maxBatchSize).toBe(1);
      expect(backend.setPowerLimit(1e9)).toBe(maxWatts);
      expect(backend.status().maxBatchSize).toBe(4);
    } finally {
      await backend.release();
    }
  });

  it('unmaps the model file on close and refuses work afterwards', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options(), events);
    backend.submit(job('m', { maxOutputTokens: 8 }));
    await events.settled('m');
    expect(await mappedModelBytes()).toBeGreaterThan(1e6);
    expect(backend.status()).toMatchObject({ models: [{ name: MODEL, state: 'loaded' }] });
    expect(backend.status().hbmUsedBytes).toBeGreaterThan(13e6);
    await backend.release();
    expect(await mappedModelBytes()).toBe(0);
    expect(backend.status()).toMatchObject({ hbmUsedBytes: 0, models: [], inFlight: 0 });
    expect(backend.submit(job('late'))).toMatchObject({ ok: false, code: 'NODE_DRAINING' });
  });

  it('abandons running and queued work on close without reporting it', async () => {
    const events = new RecordingListener();
    const backend = await LlamaCppBackend.open(options({ maxConcurrency: 1 }), events);
    backend.submit(job('running', { maxOutputTokens: 900 }));
    backend.submit(job('queued'));
    await events.next('running', 'first-token');
    backend.close();
    const closedAtMs = performance.now();
    expect(backend.activeJobs).toBe(0);
    await backend.release();
    expect(performance.now() - closedAtMs).toBeLessThan(500);
    expect(events.events.filter((event) => event.atMs > closedAtMs)).toEqual([]);
    expect(events.of('queued')).toEqual([]);
    expect(await mappedModelBytes()).toBe(0);
  });

  it('loads before binding a listener, binds once, and frees a model that was never bound', async () => {
    const loaded = await LlamaCppBackend.load(options());
    expect(await mappedModelBytes()).toBeGreaterThan(0);
    await loaded.dispose();
    expect(await mappedModelBytes()).toBe(0);

    const again = await LlamaCppBackend.load(options());
    const events = new RecordingListener();
    const backend = again.bind(events);
    expect(() => again.bind(events)).toThrow(LlamaCppBackendError);
    await expect(again.dispose()).rejects.toBeInstanceOf(LlamaCppBackendError);
    backend.submit(job('bound'));
    await events.settled('bound');
    expect(events.completion('bound').outputTokens).toBe(24);
    await backend.release();
  });

  it('gives the weights and KV cache back to the OS on close, cycle after cycle', async () => {
    expect(existsSync(BUILT_BACKEND), `${BUILT_BACKEND.pathname} is missing: run npm run build`).toBe(true);
    // In a child process whose glibc returns large frees to the OS at once (a fixed mmap threshold),
    // so resident memory shows what the backend holds rather than what malloc keeps for reuse.
    const script = `
      const { getProfile } = await import(${JSON.stringify(BUILT_FLEET_MODEL.href)});
      const { LlamaCppBackend } = await import(${JSON.stringify(BUILT_BACKEND.href)});
      const hardware = { profile: getProfile('l4'), chipCount: 1 };
      const cycles = [];
      for (let i = 0; i < 5; i++) {
        let settle;
        const settled = new Promise((resolve) => (settle = resolve));
        const listener = { firstToken() {}, text() {}, completed: settle, failed: settle };
        const backend = await LlamaCppBackend.open({ modelPath: ${JSON.stringify(modelPath)}, modelName: 'm',
          maxConcurrency: 4, maxQueue: 0, threads: 1, contextSize: 2048, hardware }, listener);
        backend.submit({ id: 'j', model: 'm', inputTokens: 16, maxOutputTokens: 8, priority: 'normal' });
        await settled;
        const openRss = process.memoryUsage().rss;
        const usedBytes = backend.status().hbmUsedBytes;
        await backend.release();
        // node-llama-cpp keeps ~8 MB of file metadata in buffers the garbage collector frees.
        globalThis.gc();
        cycles.push({ openRss, closedRss: process.memoryUsage().rss, usedBytes });
      }
      console.log(JSON.stringify(cycles));`;
    // A file, not `node -e`: node-llama-cpp tests its binary in a child started with our exec arguments.
    const scriptPath = join(directory, 'memory-cycles.mjs');
    await writeFile(scriptPath, script);
    const { stdout } = await run(process.execPath, ['--expose-gc', scriptPath], {
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
    });
    const cycles = JSON.parse(stdout) as { openRss: number; closedRss: number; usedBytes: number }[];
    const first = cycles[0]!;
    // ~39 MB held: 13.6 MB of weights and four 2048-token KV caches with their compute buffers.
    expect(first.usedBytes).toBeGreaterThan(30e6);
    for (const cycle of cycles) expect(cycle.openRss - cycle.closedRss).toBeGreaterThan(0.6 * first.usedBytes);
    expect(cycles.at(-1)!.closedRss - first.closedRss).toBeLessThan(0.25 * first.usedBytes);
  });

  it('names what went wrong when the model cannot be opened', async () => {
    const listener = new RecordingListener();
    await expect(
      LlamaCppBackend.open(options({ modelPath: join(directory, 'absent.gguf') }), listener),
    ).rejects.toMatchObject({
      name: 'LlamaCppBackendError',
      code: 'MODEL_LOAD_FAILED',
    });
    await expect(LlamaCppBackend.open(options({ maxConcurrency: 0 }), listener)).rejects.toBeInstanceOf(
      LlamaCppBackendError,
    );
  });
});
