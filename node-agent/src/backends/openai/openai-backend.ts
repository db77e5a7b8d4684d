import {
  clampPowerLimit,
  drawnPowerWatts,
  FifoQueue,
  nodeHbmBytes,
  nodePowerWatts,
  powerLimitRange,
  temperatureC,
} from '@switchyard/fleet-model';
import type { ErrorCode, Priority } from '@switchyard/protocol';
import type { BackendJob, BackendListener, BackendStatus, BackendSubmitOutcome, ExecutionBackend } from '../backend.js';
import { type OpenAiBackendOptions, validateOpenAiBackendOptions } from './openai-backend-options.js';
import { codeForStatus, describeNetworkError, generationPath, streamingRequestBody } from './openai-wire.js';
import { placeholderPrompt } from './placeholder-prompt.js';
import type { ServerLoad } from './server-metrics.js';
import { ServerMonitor } from './server-monitor.js';
import { armStallTimer, queuedServerJob, type ServerJob, serverJobCompletion } from './server-job.js';
import { pipeSseBody, type SseEvent, SseParser } from './sse.js';
import { errorResponseMessage, readStreamEvent } from './stream-event.js';

const PRIORITY_ORDER: readonly Priority[] = ['high', 'normal', 'low'];

/**
 * Runs assigned work on a local OpenAI-compatible server (vLLM, SGLang, TGI, vLLM on Neuron):
 * a streaming POST per job, at most `maxConcurrency` at once, the rest in a priority-then-FIFO
 * queue here. Text streams to the listener chunk by chunk. Cancelling aborts the HTTP request,
 * which is how vLLM learns to abort it. Timings are measured here: queueMs is the wait in this
 * backend's queue only (a wait inside the server shows in ttftMs); loadMs is 0 (the server loads at
 * its start, not per job). energyJoules is 0: nothing here measures energy per request, and the
 * node's probe reports power for the node as a whole. The listener must not throw.
 */
export class OpenAiBackend implements ExecutionBackend {
  private readonly baseUrl: string;
  private readonly generateUrl: string;
  private readonly served: ReadonlySet<string>;
  private readonly clock: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly queues = new Map<Priority, FifoQueue<ServerJob>>(PRIORITY_ORDER.map((p) => [p, new FifoQueue()]));
  private readonly jobs = new Map<string, ServerJob>();
  private queuedCount = 0;
  private runningCount = 0;
  private powerLimitWatts: number;
  private busyMs = 0;
  private busySinceMs = 0;
  private readonly monitor: ServerMonitor;
  private closed = false;

  constructor(
    private readonly options: OpenAiBackendOptions,
    private readonly listener: BackendListener,
  ) {
    validateOpenAiBackendOptions(options);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.generateUrl = this.baseUrl + generationPath(options.api);
    this.served = new Set(options.models);
    this.clock = options.clock ?? (() => performance.now());
    this.fetchImpl = options.fetch ?? fetch;
    this.headers = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
    };
    this.powerLimitWatts = clampPowerLimit(options.hardware, options.powerLimitWatts ?? Number.POSITIVE_INFINITY);
    this.monitor = new ServerMonitor({
      baseUrl: this.baseUrl,
      intervalMs: options.healthIntervalMs,
      healthPath: options.healthPath ?? '/health',
      metricsPath: options.metricsPath ?? '/metrics',
      unhealthyAfterFailures: options.unhealthyAfterFailures ?? 2,
      apiKey: options.apiKey,
      clock: this.clock,
      fetch: this.fetchImpl,
      onHealthy: () => this.pump(),
      onUnhealthy: (reason) =>
        this.failQueued('NODE_LOST', `the model server at ${this.baseUrl} became unhealthy (${reason})`),
    });
    void this.monitor.refresh();
  }

  get activeJobs(): number {
    return this.queuedCount + this.runningCount;
  }

  /** Requests sent at once now: maxConcurrency scaled by the power limit's share of the maximum, at least 1. */
  get concurrencyLimit(): number {
    if (this.options.shedConcurrencyUnderPowerLimit === false) return this.options.maxConcurrency;
    const { maxWatts } = powerLimitRange(this.options.hardware);
    return Math.max(1, Math.floor((this.options.maxConcurrency * this.powerLimitWatts) / maxWatts));
  }

  submit(job: BackendJob): BackendSubmitOutcome {
    if (this.closed) return { ok: false, code: 'NODE_DRAINING', message: 'the model-server backend is closed' };
    if (!this.served.has(job.model)) {
      return {
        ok: false,
        code: 'UNKNOWN_MODEL',
        message: `model ${job.model} is not served here (serving: ${this.options.models.join(', ')})`,
      };
    }
    const listed = this.monitor.listedModels;
    if (listed !== undefined && !listed.has(job.model)) {
      return {
        ok: false,
        code: 'UNKNOWN_MODEL',
        message: `the model server at ${this.baseUrl} does not list ${job.model} on /v1/models`,
      };
    }
    const health = this.monitor.health;
    if (health !== 'healthy') {
      return {
        ok: false,
        code: 'NODE_DRAINING',
        message: `the model server at ${this.baseUrl} is ${health === 'starting' ? 'not ready yet' : 'unhealthy'} (${this.monitor.reason}); this node takes no work until it answers`,
      };
    }
    if (this.jobs.has(job.id))
      return { ok: false, code: 'INVALID_REQUEST', message: `job ${job.id} is already queued or running` };
    if (this.runningCount >= this.concurrencyLimit && this.queuedCount >= this.options.maxQueue) {
      return {
        ok: false,
        code: 'OVERLOADED',
        message: `model server backend is full: ${this.runningCount} running, ${this.queuedCount} waiting`,
      };
    }
    const now = this.clock();
    const entry = queuedServerJob(job, now);
    this.jobs.set(job.id, entry);
    this.queues.get(job.priority)!.push(entry);
    this.queuedCount++;
    this.pump();
    return { ok: true, queueDepth: this.queueDepth(this.monitor.freshLoad(now)) };
  }

  /** Drops a queued job, or aborts a running one's HTTP request (the server sees the disconnect). */
  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    if (entry === undefined) return false;
    const controller = entry.controller;
    this.settle(entry);
    controller?.abort();
    this.pump();
    return true;
  }

  status(): BackendStatus {
    const now = this.clock();
    const load = this.monitor.freshLoad(now);
    const hardware = this.options.hardware;
    const hbmTotalBytes = nodeHbmBytes(hardware);
    const healthy = this.monitor.health === 'healthy';
    const weightBytes = healthy
      ? Math.min(
          hbmTotalBytes,
          this.options.models.reduce((sum, name) => sum + (this.options.modelSpecs?.(name)?.weightBytes ?? 0), 0),
        )
      : 0;
    // vLLM holds its KV pool from start; the scheduler's free HBM should be the pool's unused share.
    const kvBytes = (load?.kvCacheUsage ?? 0) * (hbmTotalBytes - weightBytes);
    const inFlight = this.inFlight(load);
    // Estimates from the fleet model's power law; a hardware probe's readings replace them in heartbeats.
    const demandWatts = nodePowerWatts(hardware, {
      prefillActive: false,
      decodeBatch: inFlight,
      maxBatchSize: hardware.profile.maxBatchSize,
    });
    const powerDrawWatts = drawnPowerWatts(demandWatts, this.powerLimitWatts);
    return {
      queueDepth: this.queueDepth(load),
      inFlight,
      maxBatchSize: this.concurrencyLimit,
      busyMs: this.busyMs + (this.runningCount > 0 ? now - this.busySinceMs : 0),
      hbmTotalBytes,
      hbmUsedBytes: Math.round(weightBytes + kvBytes),
      powerDrawWatts,
      powerLimitWatts: this.powerLimitWatts,
      temperatureC: temperatureC(hardware, powerDrawWatts),
      models: healthy ? this.options.models.map((name) => ({ name, state: 'loaded' as const })) : [],
    };
  }

  /**
   * Neuron has no power-limit knob, and a model server none of its own, so the backend sheds
   * concurrency instead: requests at once fall in proportion to the limit's share of the hardware
   * maximum (at least 1). Running requests finish; new ones start only below the new limit. With
   * `shedConcurrencyUnderPowerLimit: false` the limit is only recorded (hardware enforces it).
   */
  setPowerLimit(watts: number): number {
    this.powerLimitWatts = clampPowerLimit(this.options.hardware, watts);
    this.pump();
    return this.powerLimitWatts;
  }

  /** Stops the health timer and aborts every request in flight; queued jobs are dropped unanswered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.monitor.close();
    // Deleting from a Map while iterating it is safe: deleted entries are not visited.
    for (const entry of this.jobs.values()) {
      const controller = entry.controller;
      this.settle(entry);
      controller?.abort();
    }
  }

  /**
   * Checks the server's health and scrapes its metrics now (a timer does it every
   * healthIntervalMs). Concurrent calls share one check. Never rejects.
   */
  refresh(): Promise<void> {
    return this.monitor.refresh();
  }

  /**
   * Requests running in the server: its own figure, which also counts other clients' work, plus
   * any of ours the last scrape could not see yet (sent since). Our count alone without metrics.
   */
  private inFlight(load: ServerLoad | undefined): number {
    if (load?.running === undefined) return this.runningCount;
    const seenByServer = load.running + (load.waiting ?? 0);
    return load.running + Math.max(0, this.runningCount - seenByServer);
  }

  /** Jobs waiting here plus those waiting inside the server. */
  private queueDepth(load: ServerLoad | undefined): number {
    return this.queuedCount + (load?.waiting ?? 0);
  }

  /** Starts queued jobs while slots are free and the server is healthy. */
  private pump(): void {
    while (!this.closed && this.monitor.health === 'healthy' && this.runningCount < this.concurrencyLimit) {
      const entry = this.nextQueued();
      if (entry === undefined) return;
      this.start(entry);
    }
  }

  private nextQueued(): ServerJob | undefined {
    for (const priority of PRIORITY_ORDER) {
      const queue = this.queues.get(priority)!;
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        if (entry.state === 'queued') return entry;
      }
    }
    return undefined;
  }

  private start(entry: ServerJob): void {
    const now = this.clock();
    this.queuedCount--;
    if (this.runningCount === 0) this.busySinceMs = now;
    this.runningCount++;
    entry.state = 'running';
    entry.startedAtMs = now;
    entry.lastDataAtMs = now;
    entry.controller = new AbortController();
    armStallTimer(entry, this.options.requestTimeoutMs, this.options.requestTimeoutMs, this.clock);
    void this.execute(entry, entry.controller.signal);
  }

  /**
   * One HTTP exchange, start to end. The stall timer lives as long as the exchange, not the job:
   * after [DONE] or a failure the body is still read to its end, and a server that then hangs is
   * cut off too.
   */
  private async execute(entry: ServerJob, signal: AbortSignal): Promise<void> {
    try {
      await this.exchange(entry, signal);
    } finally {
      if (entry.stallTimer !== undefined) clearTimeout(entry.stallTimer);
      entry.stallTimer = undefined;
      entry.exchangeOver = true;
    }
  }

  /** Sends the request and reads the stream. Every failure ends in `fail`; nothing here rejects. */
  private async exchange(entry: ServerJob, signal: AbortSignal): Promise<void> {
    const { job } = entry;
    const prompt = job.prompt ?? placeholderPrompt(job.id, job.inputTokens);
    let response: Response;
    try {
      response = await this.fetchImpl(this.generateUrl, {
        method: 'POST',
        headers: this.headers,
        body: streamingRequestBody(this.options.api, job.model, prompt, job.maxOutputTokens, job.history),
        signal,
      });
    } catch (err) {
      if (entry.state !== 'running') return;
      if (entry.stalled) {
        this.fail(entry, 'NODE_LOST', `the model server did not answer within ${this.options.requestTimeoutMs} ms`);
        return;
      }
      this.fail(entry, 'NODE_LOST', `cannot reach the model server at ${this.baseUrl}: ${describeNetworkError(err)}`);
      // A refused connection usually means the server is gone: check now rather than at the next tick.
      void this.refresh();
      return;
    }
    try {
      if (!response.ok || response.body === null) {
        const text = await response.text();
        if (entry.state !== 'running') return;
        this.fail(
          entry,
          codeForStatus(response.status),
          errorResponseMessage(response.status, response.statusText, text),
        );
        return;
      }
      const parser = new SseParser({ onEvent: (event) => this.onEvent(entry, event) });
      // Read on after [DONE] too, so that the connection ends cleanly and is kept alive for reuse.
      await pipeSseBody(response.body, parser, () => (entry.lastDataAtMs = this.clock()));
      if (entry.state !== 'running') return;
      this.fail(
        entry,
        'NODE_LOST',
        `the model server ended the stream without [DONE] after ${entry.chunks.length} chunks`,
      );
    } catch (err) {
      if (entry.state !== 'running') return;
      const reason = entry.stalled
        ? `the model server sent nothing for ${this.options.requestTimeoutMs} ms`
        : `the model server closed the stream after ${entry.chunks.length} chunks: ${describeNetworkError(err)}`;
      this.fail(entry, 'NODE_LOST', reason);
    }
  }

  private onEvent(entry: ServerJob, event: SseEvent): void {
    if (entry.state !== 'running') return;
    const meaning = readStreamEvent(this.options.api, event.data);
    if (meaning.kind === 'done') {
      this.complete(entry);
      return;
    }
    if (meaning.kind === 'malformed') {
      this.fail(entry, 'INTERNAL', meaning.message);
      entry.controller?.abort();
      return;
    }
    if (meaning.kind === 'server-error') {
      this.fail(entry, meaning.code, meaning.message);
      return;
    }
    entry.usageTokens = meaning.usageTokens ?? entry.usageTokens;
    const text = meaning.text;
    if (text === '') return;
    if (entry.firstTokenAtMs === undefined) {
      entry.firstTokenAtMs = this.clock();
      this.listener.firstToken(entry.job.id);
    }
    entry.chunks.push(text);
    this.listener.text(entry.job.id, text);
  }

  private complete(entry: ServerJob): void {
    const now = this.clock();
    this.settle(entry);
    this.listener.completed(serverJobCompletion(entry, now));
    this.pump();
  }

  private fail(entry: ServerJob, code: ErrorCode, message: string): void {
    this.settle(entry);
    this.listener.failed(entry.job.id, code, message);
    this.pump();
  }

  /** Fails every queued job (the server went down; clients retry elsewhere). */
  private failQueued(code: ErrorCode, message: string): void {
    for (const queue of this.queues.values()) {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        if (entry.state !== 'queued') continue;
        this.settle(entry);
        this.listener.failed(entry.job.id, code, message);
      }
    }
  }

  /** Ends a job's bookkeeping: out of the maps and counts; later events for it are ignored. */
  private settle(entry: ServerJob): void {
    if (entry.state === 'done') return;
    if (entry.state === 'queued') this.queuedCount--;
    else {
      this.runningCount--;
      if (this.runningCount === 0) this.busyMs += this.clock() - this.busySinceMs;
    }
    entry.state = 'done';
    this.jobs.delete(entry.job.id);
  }
}
