/**
 * The discrete-event engine of one simulated node. It is driven from outside: the node agent calls it
 * from real timers, the capacity simulator from a virtual clock, so it never reads a clock itself and
 * only moves when told the time.
 *
 * A job is queued (PriorityQueue), admitted when a batch slot is free and HBM holds its KV cache
 * (ModelResidency, which also loads and evicts models), prefilled on the node's single serial lane,
 * then decoded in the shared batch (DecodeBatch) until all its output tokens exist. Between events
 * nothing changes rate, so every event is computed analytically: each costs O(log jobs + resident
 * models), never a loop per token or per ms. Power follows the load (nodePowerWatts), a cap slows
 * prefill and decode alike (powerSpeedFactor), and energy is attributed through one accumulator of
 * joules per active job: a job's share is the accumulator's growth while it prefilled or decoded.
 */
import { DecodeBatch } from './decode-batch.js';
import type { JobState } from './job-state.js';
import { assertValidTokens, newJobState } from './job-state.js';
import {
  decodeStepMs,
  defaultMaxBatchSize,
  kvBytes,
  modelLoadMs,
  nodeHbmBytes,
  prefillTokensPerMs,
  supportsModel,
} from './latency.js';
import type { ResidentModel } from './model-residency.js';
import { ModelResidency } from './model-residency.js';
import { clampPowerLimit, drawnPowerWatts, nodePowerWatts, powerSpeedFactor, temperatureC } from './power.js';
import { PrefillLane } from './prefill-lane.js';
import { PriorityQueue } from './priority-queue.js';
import { createRng } from './rng.js';
import type {
  AcceleratorStatus,
  SimEvent,
  SimJob,
  SimulatedAcceleratorOptions,
  SubmitOutcome,
} from './simulated-accelerator-types.js';
import type { ModelSpec, NodeHardware } from './types.js';

const DEFAULT_JITTER = 0.03;

type NextEvent =
  | { kind: 'load'; model: ResidentModel<JobState> }
  | { kind: 'prefill' }
  | { kind: 'decode'; model: string }
  | undefined;

/** One simulated node: batch slots, HBM, a prefill lane, batched decode, model loading and power. */
export class SimulatedAccelerator {
  private readonly hw: NodeHardware;
  private readonly lookup: (name: string) => ModelSpec | undefined;
  private readonly maxBatchSize: number;
  private readonly maxQueueDepth: number;
  private readonly jitter: number;
  private readonly rng: () => number;
  private readonly residency: ModelResidency<JobState>;
  private readonly queue = new PriorityQueue<JobState>((job) => job.phase === 'queued');
  private readonly decode = new DecodeBatch<JobState>((job) => job.phase === 'decode');
  private readonly prefill = new PrefillLane<JobState>((job) => job.phase === 'prefill-wait');
  private readonly jobs = new Map<string, JobState>();
  private clockMs: number;
  private inFlight = 0;
  private powerLimitWatts: number;
  private drawWatts = 0;
  private busyMs = 0;
  private energyPerActiveJoules = 0;
  private outbox: SimEvent[] = [];
  private next: NextEvent;
  private readonly promptTokens = (job: JobState): number => job.inputTokens;
  private readonly stepMs = (model: ModelSpec, batchSize: number): number => decodeStepMs(this.hw, model, batchSize);

  constructor(options: SimulatedAcceleratorOptions) {
    const { hardware } = options;
    if (!(hardware.chipCount > 0)) throw new RangeError(`chipCount must be positive, got ${hardware.chipCount}`);
    this.hw = hardware;
    this.lookup = options.models;
    this.maxBatchSize = options.maxBatchSize ?? defaultMaxBatchSize(hardware);
    this.maxQueueDepth = options.maxQueueDepth ?? 4 * this.maxBatchSize;
    this.jitter = options.jitter ?? DEFAULT_JITTER;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be an integer ≥ 1, got ${this.maxBatchSize}`);
    }
    if (!Number.isInteger(this.maxQueueDepth) || this.maxQueueDepth < 0) {
      throw new RangeError(`maxQueueDepth must be an integer ≥ 0, got ${this.maxQueueDepth}`);
    }
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${this.jitter}`);
    if (!Number.isFinite(options.startMs)) throw new RangeError(`startMs must be finite, got ${options.startMs}`);
    this.rng = createRng(options.seed);
    this.clockMs = options.startMs;
    this.residency = new ModelResidency(nodeHbmBytes(hardware));
    this.powerLimitWatts = clampPowerLimit(hardware, options.powerLimitWatts ?? Number.POSITIVE_INFINITY);
    for (const name of options.preloadedModels) {
      const spec = this.lookup(name);
      // Preloads are configuration: a wrong one must fail at start-up, not as a stream of rejections.
      if (spec === undefined || !supportsModel(hardware, spec)) {
        throw new TypeError(`cannot preload model "${name}" on ${hardware.profile.name}`);
      }
      if (!this.residency.preload(spec, this.clockMs)) {
        throw new RangeError(`preloaded models exceed the HBM of ${hardware.profile.name} × ${hardware.chipCount}`);
      }
    }
    this.updateRates();
  }

  /** Jobs queued plus jobs admitted. */
  get jobCount(): number {
    return this.jobs.size;
  }

  /** The engine's clock: the latest time it was advanced to. */
  get timeMs(): number {
    return this.clockMs;
  }

  /**
   * Offers a job at `nowMs` (advancing there first; an earlier time counts as the current one).
   * Unknown or unsupported model → UNKNOWN_MODEL; full queue, or a job whose KV cache can never fit
   * → NO_CAPACITY. A duplicate id of a live job throws TypeError; non-integer or out-of-range token
   * counts throw RangeError. Events produced on the way are returned by the next advance().
   */
  submit(job: SimJob, nowMs: number): SubmitOutcome {
    this.advanceTo(nowMs);
    if (this.jobs.has(job.id)) throw new TypeError(`job "${job.id}" is already queued or running`);
    assertValidTokens(job);
    const spec = this.lookup(job.model);
    if (spec === undefined || !supportsModel(this.hw, spec)) {
      const message = `model "${job.model}" is not served by ${this.hw.profile.name} × ${this.hw.chipCount}`;
      return { ok: false, code: 'UNKNOWN_MODEL', message };
    }
    const jobKvBytes = kvBytes(spec, job.inputTokens + job.maxOutputTokens);
    if (spec.weightBytes + jobKvBytes > this.residency.totalBytes) {
      return { ok: false, code: 'NO_CAPACITY', message: `job "${job.id}" needs more KV cache than the node holds` };
    }
    const state = newJobState(job, spec, jobKvBytes, 1 + this.jitter * (2 * this.rng() - 1), this.clockMs);
    this.queue.push(state, state.priority);
    this.jobs.set(job.id, state);
    this.settle();
    // Enqueue first, then judge the depth: a job admitted at once never needed a queue place.
    if (state.phase === 'queued' && this.queue.size > this.maxQueueDepth) {
      this.queue.popNewest(state.priority);
      this.jobs.delete(job.id);
      return { ok: false, code: 'NO_CAPACITY', message: `queue full (${this.maxQueueDepth} jobs waiting)` };
    }
    return { ok: true, queueDepth: this.queue.size };
  }

  /**
   * Processes every event at or before `nowMs`, in time order, and returns them after any produced
   * inside earlier submit/cancel/status/setPowerLimit calls. An earlier time processes nothing;
   * `Infinity` runs until no event is left and leaves the clock at the last one.
   */
  advance(nowMs: number): SimEvent[] {
    this.advanceTo(nowMs);
    const events = this.outbox;
    this.outbox = [];
    return events;
  }

  /** When the next event happens if nothing new arrives (a past time if advance() has some to return); undefined when idle. */
  nextEventAtMs(): number | undefined {
    if (this.outbox.length > 0) return this.outbox[0]!.atMs;
    const at = this.findNextEvent();
    return Number.isFinite(at) ? at : undefined;
  }

  /** The node's state at `nowMs` (advancing there first). */
  status(nowMs: number): AcceleratorStatus {
    this.advanceTo(nowMs);
    // Reported like a serving engine's "waiting" and "running": a job admitted to the batch but still
    // waiting for the prefill lane has produced nothing yet, so it counts as waiting.
    const laneWaiting = Math.min(this.prefill.waitingCount, this.inFlight);
    return {
      queueDepth: this.queue.size + laneWaiting,
      inFlight: this.inFlight - laneWaiting,
      busyMs: this.busyMs,
      maxBatchSize: this.maxBatchSize,
      hbmTotalBytes: this.residency.totalBytes,
      hbmUsedBytes: this.residency.hbmUsedBytes,
      powerDrawWatts: this.drawWatts,
      powerLimitWatts: this.powerLimitWatts,
      temperatureC: temperatureC(this.hw, this.drawWatts),
      batchOccupancy: this.inFlight / this.maxBatchSize,
      models: [...this.residency.list()].map((m) => ({ name: m.spec.name, state: m.state })),
    };
  }

  /** Drops a queued or running job at `nowMs`, freeing its slot and memory; false if it is not live. */
  cancel(jobId: string, nowMs: number): boolean {
    this.advanceTo(nowMs);
    const job = this.jobs.get(jobId);
    if (job === undefined) return false;
    switch (job.phase) {
      case 'queued':
        job.phase = 'done'; // skipped when it reaches the head of its FIFO
        this.queue.markRemoved();
        this.jobs.delete(jobId);
        break;
      case 'loading': {
        const waiting = this.residency.get(job.model.name)!.waiting;
        waiting.splice(waiting.indexOf(job), 1);
        this.release(job);
        break;
      }
      case 'prefill':
        this.prefill.finish();
        this.release(job);
        break;
      case 'decode':
        this.release(job); // marks it done first, so DecodeBatch skips its heap entry
        this.decode.remove(job.model.name);
        break;
      default:
        this.release(job); // 'prefill-wait': skipped in the prefill FIFO once marked done
    }
    this.settle();
    return true;
  }

  /** Sets the node's power limit at `nowMs`, clamped to powerLimitRange; returns the limit applied. */
  setPowerLimit(watts: number, nowMs: number): number {
    this.advanceTo(nowMs);
    this.powerLimitWatts = clampPowerLimit(this.hw, watts);
    this.updateRates();
    return this.powerLimitWatts;
  }

  private advanceTo(targetMs: number): void {
    if (Number.isNaN(targetMs)) throw new RangeError('time must be a number, got NaN');
    if (targetMs < this.clockMs) return;
    for (;;) {
      const at = this.findNextEvent();
      if (this.next === undefined || at > targetMs) break;
      this.integrateTo(at);
      this.fire();
    }
    if (targetMs !== Number.POSITIVE_INFINITY) this.integrateTo(targetMs);
  }

  /** Time of the earliest pending event, remembered in `next`; loads, then prefill, then decode win ties. */
  private findNextEvent(): number {
    let best = Number.POSITIVE_INFINITY;
    this.next = undefined;
    const load = this.residency.nextLoad();
    if (load !== undefined) {
      best = load.readyAtMs;
      this.next = { kind: 'load', model: load };
    }
    const prefillEnd = this.prefill.endsAtMs(this.clockMs);
    if (prefillEnd !== undefined && prefillEnd < best) {
      best = prefillEnd;
      this.next = { kind: 'prefill' };
    }
    const completion = this.decode.nextCompletion(this.clockMs);
    if (completion !== undefined && completion.atMs < best) {
      best = completion.atMs;
      this.next = { kind: 'decode', model: completion.model };
    }
    return best;
  }

  private integrateTo(atMs: number): void {
    const dtMs = atMs - this.clockMs;
    if (!(dtMs > 0)) return;
    this.decode.integrate(dtMs);
    this.prefill.integrate(dtMs);
    const active = this.decode.size + (this.prefill.current === undefined ? 0 : 1);
    // Idle draw (nothing active) is the node's, not any job's: it is not attributed.
    if (active > 0) {
      this.energyPerActiveJoules += (this.drawWatts * dtMs) / 1000 / active;
      this.busyMs += dtMs;
    }
    this.clockMs = atMs;
  }

  private fire(): void {
    const next = this.next!;
    const now = this.clockMs;
    if (next.kind === 'load') {
      const model = next.model;
      model.state = 'loaded';
      this.outbox.push({ kind: 'model-loaded', model: model.spec.name, atMs: now });
      for (const job of model.waiting) {
        job.loadMs = now - job.admittedAtMs;
        job.phase = 'prefill-wait';
        this.prefill.enqueue(job);
      }
      model.waiting = [];
    } else if (next.kind === 'prefill') {
      const job = this.prefill.finish()!;
      job.firstTokenAtMs = now;
      this.outbox.push({ kind: 'first-token', jobId: job.id, atMs: now });
      if (job.outputTokens <= 1) {
        this.complete(job);
      } else {
        job.phase = 'decode';
        // The first token came out of prefill; the rest are decode steps.
        this.decode.join(job, job.model, job.outputTokens - 1, job.jitterFactor);
      }
    } else {
      this.complete(this.decode.popCompletion(next.model));
    }
    this.settle();
  }

  /** After any change: admit what fits, keep the prefill lane busy, re-rate power and speeds. */
  private settle(): void {
    this.admitQueued();
    this.startPrefillIfIdle();
    this.updateRates();
  }

  private complete(job: JobState): void {
    const now = this.clockMs;
    this.outbox.push({
      kind: 'completed',
      jobId: job.id,
      atMs: now,
      outputTokens: job.outputTokens,
      timings: {
        queueMs: job.prefillStartMs - job.submittedAtMs - job.loadMs,
        loadMs: job.loadMs,
        ttftMs: job.firstTokenAtMs - job.submittedAtMs,
        totalMs: now - job.submittedAtMs,
      },
      energyJoules: this.energyPerActiveJoules - job.energyMark,
    });
    this.release(job);
  }

  /** Frees an admitted job's slot, KV memory and hold on its model. */
  private release(job: JobState): void {
    job.phase = 'done';
    this.jobs.delete(job.id);
    this.inFlight--;
    this.residency.releaseKv(job.kvBytes);
    const model = this.residency.get(job.model.name)!;
    model.jobs--;
    model.lastUsedMs = this.clockMs;
  }

  /** Admits queued jobs in priority order while slots and memory allow; a blocked head blocks the rest. */
  private admitQueued(): void {
    while (this.inFlight < this.maxBatchSize && this.queue.size > 0) {
      const head = this.queue.peek();
      if (head === undefined) return;
      const { job, priority } = head;
      const model = this.residency.reserve(job.model, job.kvBytes, this.clockMs, modelLoadMs(this.hw, job.model));
      if (model === undefined) return;
      this.queue.shift(priority);
      job.admittedAtMs = this.clockMs;
      this.inFlight++;
      model.jobs++;
      model.lastUsedMs = this.clockMs;
      if (model.state === 'loading') {
        job.phase = 'loading';
        model.waiting.push(job);
      } else {
        job.phase = 'prefill-wait';
        this.prefill.enqueue(job);
      }
    }
  }

  private startPrefillIfIdle(): void {
    const job = this.prefill.startNext(this.promptTokens);
    if (job === undefined) return;
    job.phase = 'prefill';
    job.prefillStartMs = this.clockMs;
    job.energyMark = this.energyPerActiveJoules;
  }

  /** Recomputes draw, the cap's speed factor and every rate; they then hold until the next event. */
  private updateRates(): void {
    const demandWatts = nodePowerWatts(this.hw, {
      prefillActive: this.prefill.current !== undefined,
      decodeBatch: this.decode.size,
      maxBatchSize: this.maxBatchSize,
    });
    this.drawWatts = drawnPowerWatts(demandWatts, this.powerLimitWatts);
    const speedFactor = powerSpeedFactor(demandWatts, this.powerLimitWatts);
    const job = this.prefill.current;
    if (job !== undefined)
      this.prefill.setRate(prefillTokensPerMs(this.hw, job.model) * speedFactor * job.jitterFactor);
    this.decode.rerate(speedFactor, this.stepMs);
  }
}
