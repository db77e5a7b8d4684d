import { availableParallelism, totalmem } from 'node:os';
import { clampPowerLimit, powerLimitRange } from '@switchyard/fleet-model';
import type { Priority } from '@switchyard/protocol';
import {
  type Llama,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { BackendJob, BackendListener, BackendStatus, BackendSubmitOutcome, ExecutionBackend } from '../backend.js';
import { forgetLlamaLogs, hearLlamaLogs, llamaInstance } from './llama-instance.js';
import { LlamaCppBackendError, type LlamaCppBackendOptions, validateLlamaCppOptions } from './llama-cpp-options.js';
import { promptTokens, refuse } from './prompt-tokens.js';

/** A model loaded into memory, not yet serving. */
export interface LoadedLlamaCppModel {
  /** The backend serving the model and reporting to `listener`. Call once. */
  bind(listener: BackendListener): LlamaCppBackend;
  /** Frees the model when it will never be bound (start-up failed after the load). */
  dispose(): Promise<void>;
}

const DEFAULT_MAX_CONTEXT_TOKENS = 4096;
const PRIORITY_ORDER: readonly Priority[] = ['high', 'normal', 'low'];

interface LlamaJob {
  readonly job: BackendJob;
  readonly prompt: Token[];
  readonly acceptedAtMs: number;
  readonly abort: AbortController;
  state: 'queued' | 'running';
  cancelled: boolean;
  firstTokenAtMs: number | undefined;
  outputTokens: number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs a GGUF model in-process on the CPU through llama.cpp (node-llama-cpp). One context holds
 * `maxConcurrency` sequences; each running job owns one, and llama.cpp batches the sequences'
 * steps together. Jobs beyond that wait in a priority queue (high, normal, low; FIFO within).
 *
 * What status() reports on a CPU, where GPU figures have no direct counterpart:
 * - hbmTotalBytes: the machine's RAM (os.totalmem()).
 * - hbmUsedBytes: the model's and the context's RAM as node-llama-cpp accounts them (weights plus
 *   KV cache and compute buffers), fixed while open; 0 after close.
 * - powerDrawWatts 0, temperatureC 0, energyJoules 0: unknown. Package power (RAPL) needs root and
 *   is not portable, and there is no per-job share of it anyway.
 * - busyMs: wall time during which at least one sequence computed.
 * - maxBatchSize: the sequences the power limit currently allows (see setPowerLimit).
 */
export class LlamaCppBackend implements ExecutionBackend {
  private readonly jobs = new Map<string, LlamaJob>();
  private readonly queued: Record<Priority, LlamaJob[]> = { high: [], normal: [], low: [] };
  private readonly freeSequences: LlamaContextSequence[];
  private readonly memoryBytes: number;
  private powerLimitWatts: number;
  private allowedConcurrency: number;
  private busyMs = 0;
  private busySinceMs: number | undefined;
  /** Jobs generating now (a sequence still being cleared after a cancel does not compute). */
  private generating = 0;
  private closed = false;
  private released: Promise<void> | undefined;
  private whenIdle: (() => void) | undefined;

  /** Loads the model and serves it to `listener`; resolves once the model is in memory. */
  static async open(options: LlamaCppBackendOptions, listener: BackendListener): Promise<LlamaCppBackend> {
    return (await LlamaCppBackend.load(options)).bind(listener);
  }

  /**
   * Loads the model before there is a listener to bind: for hosts whose agent creates the listener
   * itself and asks for the backend synchronously.
   */
  static async load(options: LlamaCppBackendOptions): Promise<LoadedLlamaCppModel> {
    validateLlamaCppOptions(options);
    let llama: Llama;
    try {
      llama = await llamaInstance();
    } catch (err) {
      throw new LlamaCppBackendError(
        'LLAMA_CPP_UNAVAILABLE',
        `llama.cpp could not start on the CPU: ${messageOf(err)} (the prebuilt CPU binary for ${process.platform}-${process.arch} comes with node-llama-cpp's @node-llama-cpp/* platform package at npm install)`,
        { cause: err },
      );
    }
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
    } catch (err) {
      throw new LlamaCppBackendError(
        'MODEL_LOAD_FAILED',
        `could not load the model ${options.modelPath}: ${messageOf(err)}`,
        { cause: err },
      );
    }
    let context: LlamaContext;
    try {
      context = await model.createContext({
        sequences: options.maxConcurrency,
        contextSize: options.contextSize ?? Math.min(model.trainContextSize, DEFAULT_MAX_CONTEXT_TOKENS),
        threads: options.threads ?? Math.max(1, availableParallelism() - 1),
      });
    } catch (err) {
      await model.dispose();
      throw new LlamaCppBackendError(
        'MODEL_LOAD_FAILED',
        `could not create a context of ${options.maxConcurrency} sequences for ${options.modelPath}: ${messageOf(err)}`,
        { cause: err },
      );
    }
    let bound = false;
    return {
      bind: (listener) => {
        if (bound) throw new LlamaCppBackendError('INVALID_OPTIONS', 'a loaded model serves one backend');
        bound = true;
        return new LlamaCppBackend(options, model, context, listener);
      },
      dispose: async () => {
        if (bound) throw new LlamaCppBackendError('INVALID_OPTIONS', 'the model is bound: close its backend');
        bound = true;
        await context.dispose();
        await model.dispose();
      },
    };
  }

  private constructor(
    private readonly options: LlamaCppBackendOptions,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly listener: BackendListener,
  ) {
    this.freeSequences = Array.from({ length: options.maxConcurrency }, () => context.getSequence());
    this.memoryBytes = model.memoryUsage.ram + context.memoryUsage.ram;
    this.powerLimitWatts = clampPowerLimit(options.hardware, options.powerLimitWatts ?? Number.POSITIVE_INFINITY);
    this.allowedConcurrency = this.concurrencyUnder(this.powerLimitWatts);
    if (options.log !== undefined) hearLlamaLogs(options.log);
  }

  /** Tokens a sequence holds, prompt and output together. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get activeJobs(): number {
    return this.jobs.size;
  }

  /**
   * Refuses at once a job for another model, one that cannot fit a sequence's context, or one that
   * finds every allowed sequence busy and the queue full. Events follow from generation callbacks,
   * never from within this call.
   */
  submit(job: BackendJob): BackendSubmitOutcome {
    if (this.closed) return refuse('NODE_DRAINING', 'the llama.cpp backend is closed');
    if (job.model !== this.options.modelName) {
      return refuse(
        'UNKNOWN_MODEL',
        `model ${job.model} is not loaded on this node (it serves ${this.options.modelName})`,
      );
    }
    if (this.jobs.has(job.id)) return refuse('INVALID_REQUEST', `job ${job.id} is already queued or running`);
    const prompt = promptTokens(this.model, this.context.contextSize, job);
    if (!Array.isArray(prompt)) return prompt;
    const canStart = this.canStart();
    if (!canStart && this.queueDepth >= this.options.maxQueue) {
      return refuse(
        'NO_CAPACITY',
        `llama.cpp backend is full: ${this.runningCount} running, ${this.queueDepth} of ${this.options.maxQueue} queued`,
      );
    }
    const record: LlamaJob = {
      job,
      prompt,
      acceptedAtMs: performance.now(),
      abort: new AbortController(),
      state: 'queued',
      cancelled: false,
      firstTokenAtMs: undefined,
      outputTokens: 0,
    };
    this.jobs.set(job.id, record);
    if (canStart) this.start(record);
    else this.queued[job.priority].push(record);
    return { ok: true, queueDepth: this.queueDepth };
  }

  /** Drops a queued job, or aborts a running one at its next token; its sequence frees once llama.cpp stops. */
  cancel(jobId: string): boolean {
    const record = this.jobs.get(jobId);
    if (record === undefined) return false;
    this.jobs.delete(jobId);
    record.cancelled = true;
    if (record.state === 'queued') {
      const fifo = this.queued[record.job.priority];
      fifo.splice(fifo.indexOf(record), 1);
    } else record.abort.abort(new Error(`job ${jobId} was cancelled`));
    return true;
  }

  status(): BackendStatus {
    const nowMs = performance.now();
    return {
      queueDepth: this.queueDepth,
      inFlight: this.runningCount,
      maxBatchSize: this.allowedConcurrency,
      busyMs: this.busyMs + (this.busySinceMs === undefined ? 0 : nowMs - this.busySinceMs),
      hbmTotalBytes: totalmem(),
      hbmUsedBytes: this.closed ? 0 : this.memoryBytes,
      powerDrawWatts: 0,
      powerLimitWatts: this.powerLimitWatts,
      temperatureC: 0,
      models: this.closed ? [] : [{ name: this.options.modelName, state: 'loaded' }],
    };
  }

  /**
   * A CPU offers no power knob a process may turn, so the limit sheds concurrency instead: one
   * sequence runs at the lowest limit the hardware accepts, all of them at its peak power, and a
   * count in proportion between. Running jobs finish; queued ones start only below the new count.
   */
  setPowerLimit(watts: number): number {
    this.powerLimitWatts = clampPowerLimit(this.options.hardware, watts);
    this.allowedConcurrency = this.concurrencyUnder(this.powerLimitWatts);
    this.pump();
    return this.powerLimitWatts;
  }

  /** Abandons queued and running work (no events follow) and frees the model once generation stops. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const record of this.jobs.values()) {
      record.cancelled = true;
      record.abort.abort(new Error('the llama.cpp backend closed'));
    }
    this.jobs.clear();
    for (const priority of PRIORITY_ORDER) this.queued[priority].length = 0;
    const released = this.releaseWhenIdle();
    this.released = released;
    released.catch((err: unknown) =>
      this.options.log?.warn({ err: messageOf(err) }, 'freeing the llama.cpp model failed'),
    );
  }

  /** Closes the backend and resolves once the model and its context are out of memory. */
  release(): Promise<void> {
    this.close();
    return this.released ?? Promise.resolve();
  }

  private get queueDepth(): number {
    return this.queued.high.length + this.queued.normal.length + this.queued.low.length;
  }

  private get runningCount(): number {
    return this.jobs.size - this.queueDepth;
  }

  private get sequencesInUse(): number {
    return this.options.maxConcurrency - this.freeSequences.length;
  }

  private canStart(): boolean {
    return this.freeSequences.length > 0 && this.sequencesInUse < this.allowedConcurrency;
  }

  /** One sequence at the hardware's lowest limit, all at its peak, linear between (rounded down). */
  private concurrencyUnder(limitWatts: number): number {
    const { minWatts, maxWatts } = powerLimitRange(this.options.hardware);
    const fraction = maxWatts > minWatts ? (limitWatts - minWatts) / (maxWatts - minWatts) : 1;
    const extra = Math.floor((this.options.maxConcurrency - 1) * fraction + 1e-9);
    return Math.min(this.options.maxConcurrency, 1 + Math.max(0, extra));
  }

  private start(record: LlamaJob): void {
    const sequence = this.freeSequences.pop();
    if (sequence === undefined) throw new Error('llama.cpp backend started a job with no free sequence');
    record.state = 'running';
    this.busySinceMs ??= performance.now();
    this.generating += 1;
    void this.run(record, sequence);
  }

  /** Generates one job on its sequence; never rejects (failures go to the listener). */
  private async run(record: LlamaJob, sequence: LlamaContextSequence): Promise<void> {
    const { job } = record;
    const startedAtMs = performance.now();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    let response: string | undefined;
    let failure: unknown;
    try {
      const result = await completion.generateCompletionWithMeta(record.prompt, {
        maxTokens: job.maxOutputTokens,
        signal: record.abort.signal,
        // The prompt was sized to fit at submit; never drop the start of a conversation silently.
        disableContextShift: true,
        onToken: (tokens) => {
          if (record.cancelled) return;
          record.outputTokens += tokens.length;
          if (record.firstTokenAtMs === undefined) {
            record.firstTokenAtMs = performance.now();
            this.listener.firstToken(job.id);
          }
        },
        onTextChunk: (chunk) => {
          if (!record.cancelled && chunk !== '') this.listener.text(job.id, chunk);
        },
      });
      response = result.response;
    } catch (err) {
      failure = err;
    }
    const endedAtMs = performance.now();
    this.generating -= 1;
    if (this.generating === 0 && this.busySinceMs !== undefined) {
      this.busyMs += endedAtMs - this.busySinceMs;
      this.busySinceMs = undefined;
    }
    completion.dispose({ disposeSequence: false });
    // A cancelled or failed job leaves a partial state; the next job should not build on it.
    if ((record.cancelled || failure !== undefined) && !this.closed) {
      try {
        await sequence.clearHistory();
      } catch (err) {
        this.options.log?.warn({ jobId: job.id, err: messageOf(err) }, 'llama.cpp could not clear a sequence');
      }
    }
    this.finishRun(sequence);
    if (record.cancelled) return;
    this.jobs.delete(job.id);
    if (response === undefined) {
      this.listener.failed(job.id, 'INTERNAL', `llama.cpp generation failed: ${messageOf(failure)}`);
      return;
    }
    if (record.firstTokenAtMs === undefined) this.listener.firstToken(job.id);
    const ttftAtMs = record.firstTokenAtMs ?? endedAtMs;
    this.listener.completed({
      jobId: job.id,
      outputTokens: record.outputTokens,
      timings: {
        queueMs: startedAtMs - record.acceptedAtMs,
        loadMs: 0,
        ttftMs: ttftAtMs - record.acceptedAtMs,
        totalMs: endedAtMs - record.acceptedAtMs,
      },
      energyJoules: 0,
      text: response,
    });
  }

  /** Returns the sequence and starts waiting work. */
  private finishRun(sequence: LlamaContextSequence): void {
    this.freeSequences.push(sequence);
    if (this.closed) {
      if (this.sequencesInUse === 0) this.whenIdle?.();
      return;
    }
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.canStart()) {
      const next = PRIORITY_ORDER.map((priority) => this.queued[priority])
        .find((fifo) => fifo.length > 0)
        ?.shift();
      if (next === undefined) return;
      this.start(next);
    }
  }

  private async releaseWhenIdle(): Promise<void> {
    if (this.sequencesInUse > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    if (this.options.log !== undefined) forgetLlamaLogs(this.options.log);
    await this.context.dispose();
    await this.model.dispose();
  }
}
