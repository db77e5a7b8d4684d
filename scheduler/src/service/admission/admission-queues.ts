import type { ModelSpec } from '@switchyard/fleet-model';
import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';
import type { AdmissionConfig } from '../../core/admission/admission-config.js';
import { queuePriority } from '../../core/admission/fair-share.js';
import {
  judgeSaturation,
  type RetryHintBounds,
  retryHintMs,
  type SaturationVerdict,
} from '../../core/admission/saturation.js';
import type { TrackedRequest } from '../../core/requests/request-ledger.js';
import type { Counters } from '../ports.js';
import { type AdmissionEntry, type AdmissionHost, type ClassQueueStats, Lane } from './admission-lane.js';

/** The verdict for a request that can be tried at once. */
const NO_WAIT: SaturationVerdict = { ok: true, predictedWaitMs: 0 };

/** Names of the admission-wait observations (Counters.observe), per class, built once. */
const WAIT_OBSERVATION: Readonly<Record<SloClass, string>> = {
  interactive: 'admission.wait.interactive',
  standard: 'admission.wait.standard',
  batch: 'admission.wait.batch',
};

/** Smoothing of the mean wait (per placed request). */
const WAIT_EWMA_ALPHA = 0.1;

/**
 * Admission control in front of placement. One p-queue per SLO class bounds how many requests of
 * the class are placed and unfinished at once (a task runs from placement to the request's end)
 * and orders waiting ones by weighted fair share between tenants. A request that finds no room
 * leaves its slot and waits, parked, until capacity may have freed; then parked requests are
 * offered again, interactive first, and a class never places a model that a higher class is
 * still waiting for. Requests wait at most until their deadline or their class's maxWaitMs, and
 * a queue that is full or would not reach a request in time refuses it early with OVERLOADED.
 * Classes have separate queues, so batch work waiting for power or room never delays interactive work.
 */
export class AdmissionQueues {
  private readonly lanes: Readonly<Record<SloClass, Lane>>;
  /** Highest class first. */
  private readonly order: readonly Lane[];
  private readonly entries = new Map<string, AdmissionEntry>();
  private readonly hints: RetryHintBounds;
  private lastPassMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: AdmissionConfig,
    private readonly host: AdmissionHost,
    private readonly counters: Counters,
    private readonly clock: () => number,
    fallbackRetryAfterMs: number,
  ) {
    const weightOf = (tenant: string): number => config.tenantWeights[tenant] ?? config.defaultTenantWeight;
    const lane = (sloClass: SloClass): Lane =>
      new Lane(sloClass, config.classes[sloClass], weightOf, config.drainHalfLifeMs);
    this.lanes = { interactive: lane('interactive'), standard: lane('standard'), batch: lane('batch') };
    this.order = SLO_CLASSES.map((sloClass) => this.lanes[sloClass]);
    this.hints = {
      minRetryAfterMs: config.minRetryAfterMs,
      maxRetryAfterMs: config.maxRetryAfterMs,
      fallbackRetryAfterMs,
    };
  }

  /** Whether a new request of `tenant` may join its class queue; called before it is accepted. */
  judge(tenant: string, sloClass: SloClass, modelName: string, remainingMs: number): SaturationVerdict {
    const lane = this.lanes[sloClass];
    const mustWait =
      lane.queue.pending >= lane.limits.concurrency || lane.queued.size > 0 || this.modelWaits(lane, modelName);
    // The common case, kept free of arithmetic and allocation: room in the queue and nothing to wait for.
    if (!mustWait && lane.waiting < lane.limits.maxQueued) return NO_WAIT;
    const nowMs = this.clock();
    return judgeSaturation(
      {
        sloClass,
        waiting: lane.waiting,
        maxQueued: lane.limits.maxQueued,
        mustWait,
        ahead: lane.fair.ahead(lane.fair.peek(tenant)),
        intervalMs: lane.drain.intervalMs(nowMs),
        remainingMs,
      },
      this.hints,
    );
  }

  /** Takes an accepted request into its class queue; it is placed at once when a slot and room are free. */
  admit(tracked: TrackedRequest, model: ModelSpec, fastestMs: number): void {
    const sloClass = tracked.request.sloClass;
    const lane = this.lanes[sloClass];
    const nowMs = this.clock();
    const entry: AdmissionEntry = {
      tracked,
      model,
      sloClass,
      tag: lane.fair.enqueue(tracked.tenant),
      fastestMs,
      state: 'queued',
      waitingSinceMs: nowMs,
      inFairShare: true,
      waited: false,
      reason: '',
      offers: 0,
      settle: undefined,
    };
    this.entries.set(tracked.requestId, entry);
    this.offer(lane, entry, nowMs);
    if (entry.state === 'queued') entry.waited = true;
    if (entry.state === 'queued' || entry.state === 'parked') this.counters.increment(`admission.queued.${sloClass}`);
  }

  /**
   * The placed request lost its node (or its node refused it) and may be placed again: tries at
   * once, keeping its slot; without room it waits like any other request. False if not placed.
   */
  replace(requestId: string): boolean {
    const entry = this.entries.get(requestId);
    if (entry === undefined || entry.state !== 'placed') return false;
    const lane = this.lanes[entry.sloClass];
    lane.placed--;
    const settle = entry.settle;
    entry.settle = undefined;
    entry.state = 'running';
    entry.waitingSinceMs = this.clock();
    this.run(lane, entry);
    if (isPlaced(entry)) entry.settle = settle;
    else settle?.();
    return true;
  }

  /** The request ended (answered by its node or with an error): frees its slot or its place in the queue. */
  finished(requestId: string): void {
    const entry = this.entries.get(requestId);
    if (entry === undefined) return;
    this.entries.delete(requestId);
    const lane = this.lanes[entry.sloClass];
    const state = entry.state;
    entry.state = 'done';
    if (state === 'queued') {
      // Its p-queue task stays queued and does nothing when it comes up (taking a task out of a
      // p-queue needs an AbortSignal per task, which costs more than all the rest of admission).
      lane.queued.delete(entry);
      lane.drain.setBacklog(this.clock(), lane.waiting);
    } else if (state === 'parked') {
      this.unpark(lane, entry);
      lane.drain.setBacklog(this.clock(), lane.waiting);
    } else if (state === 'placed') {
      lane.placed--;
      entry.settle?.();
      entry.settle = undefined;
    }
    if (entry.inFairShare) {
      entry.inFairShare = false;
      lane.fair.withdrawn(entry.tracked.tenant);
    }
  }

  /**
   * Room may have appeared (work finished, a node reported or joined, a budget rose): offers the
   * requests waiting for room again, interactive first and in fair-share order within a class.
   * Passes run at most every minRetryIntervalMs; one asked for sooner runs on the next call or tick.
   */
  capacityMayHaveFreed(): void {
    if (!this.anyParked()) return;
    const nowMs = this.clock();
    // A signal too soon after a pass is dropped: the next signal or tick does the work.
    if (nowMs - this.lastPassMs >= this.config.minRetryIntervalMs) this.pass(nowMs);
  }

  /**
   * Periodic duty (the scheduler's sweep): answers waiting requests whose deadline passed or can
   * no longer be met (DEADLINE_EXCEEDED) or that waited their class's maxWaitMs (NO_CAPACITY when
   * they waited for room, OVERLOADED when for a slot), then offers the rest again. The pass here
   * also catches room that appeared without a signal (e.g. a node's queue drained between
   * heartbeats); `retryNow` skips the pacing (e.g. the fleet view just became complete).
   */
  tick(retryNow = false): void {
    const nowMs = this.clock();
    for (const lane of this.order) {
      for (const entry of [...lane.queued, ...lane.parked.values()]) this.expireIfDue(lane, entry, nowMs);
    }
    if (!this.anyParked()) return;
    if (retryNow || nowMs - this.lastPassMs >= this.config.minRetryIntervalMs) this.pass(nowMs);
  }

  /** Figures of one class queue. */
  stats(sloClass: SloClass): ClassQueueStats {
    const lane = this.lanes[sloClass];
    const nowMs = this.clock();
    let oldestSinceMs = nowMs;
    for (const entry of lane.queued) oldestSinceMs = Math.min(oldestSinceMs, entry.waitingSinceMs);
    for (const entry of lane.parked.values()) oldestSinceMs = Math.min(oldestSinceMs, entry.waitingSinceMs);
    return {
      queued: lane.queued.size,
      waitingForCapacity: lane.parked.size,
      placed: lane.placed,
      concurrency: lane.limits.concurrency,
      maxQueued: lane.limits.maxQueued,
      oldestWaitMs: nowMs - oldestSinceMs,
      meanWaitMs: lane.meanWaitMs ?? 0,
      drainPerSecond: lane.drain.perSecond(nowMs),
    };
  }

  /** Requests waiting in `sloClass` (for a slot or for room). */
  depth(sloClass: SloClass): number {
    return this.lanes[sloClass].waiting;
  }

  private offer(lane: Lane, entry: AdmissionEntry, nowMs: number): void {
    entry.state = 'queued';
    const offer = ++entry.offers;
    lane.queued.add(entry);
    lane.drain.setBacklog(nowMs, lane.waiting);
    // The task never rejects: start() answers a request whose attempt threw.
    void lane.queue.add(() => this.start(lane, entry, offer), { priority: queuePriority(entry.tag) });
  }

  /** The p-queue task: runs once the entry has a slot; holds the slot for as long as the entry is placed. */
  private start(lane: Lane, entry: AdmissionEntry, offer: number): Promise<void> {
    if (entry.state !== 'queued' || entry.offers !== offer) return Promise.resolve();
    lane.queued.delete(entry);
    entry.state = 'running';
    lane.drain.setBacklog(this.clock(), lane.waiting);
    try {
      this.run(lane, entry);
    } catch (err) {
      // A bug in placement must not leave the request hanging nor its slot taken.
      this.counters.increment('admission.errors');
      if (entry.state === 'running') {
        this.host.refuse(entry, 'INTERNAL', `placement failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!isPlaced(entry)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      entry.settle = resolve;
    });
  }

  /** One placement attempt for a running entry; leaves it placed, parked or done. */
  private run(lane: Lane, entry: AdmissionEntry): void {
    const nowMs = this.clock();
    const modelName = entry.model.name;
    // A request that was lost on some nodes may fit where others of its model do not: it always tries.
    if (entry.tracked.excludedNodeIds.size === 0) {
      const blocked = this.blockingReason(lane, modelName);
      if (blocked !== undefined) {
        this.park(lane, entry, blocked, nowMs);
        return;
      }
    }
    const outcome = this.host.attempt(entry);
    if (outcome.kind === 'answered') {
      if (entry.state !== 'done') this.finished(entry.tracked.requestId);
      return;
    }
    if (outcome.kind === 'placed') {
      this.placed(lane, entry, nowMs);
      return;
    }
    if (outcome.blocksModel) lane.blockedModels.set(modelName, outcome.message);
    this.park(lane, entry, outcome.message, nowMs);
  }

  private placed(lane: Lane, entry: AdmissionEntry, nowMs: number): void {
    entry.state = 'placed';
    lane.placed++;
    if (entry.inFairShare) {
      entry.inFairShare = false;
      lane.fair.served(entry.tracked.tenant, entry.tag);
    }
    if (entry.waited) {
      entry.waited = false;
      lane.drain.departed(nowMs);
      const waitMs = nowMs - entry.waitingSinceMs;
      lane.meanWaitMs =
        lane.meanWaitMs === undefined ? waitMs : lane.meanWaitMs + WAIT_EWMA_ALPHA * (waitMs - lane.meanWaitMs);
      this.counters.increment(`admission.waited.${lane.sloClass}`);
    }
    this.counters.observe(WAIT_OBSERVATION[lane.sloClass], (nowMs - entry.waitingSinceMs) / 1000);
  }

  /** Sets a running entry aside until capacity may have freed, unless the queue is saturated. */
  private park(lane: Lane, entry: AdmissionEntry, reason: string, nowMs: number): void {
    entry.state = 'parked';
    entry.reason = reason;
    entry.waited = true;
    lane.parked.set(entry.tracked.requestId, entry);
    const modelName = entry.model.name;
    lane.parkedByModel.set(modelName, (lane.parkedByModel.get(modelName) ?? 0) + 1);
    lane.drain.setBacklog(nowMs, lane.waiting);
    const verdict = judgeSaturation(
      {
        sloClass: lane.sloClass,
        waiting: lane.waiting - 1,
        maxQueued: lane.limits.maxQueued,
        mustWait: true,
        ahead: Math.max(0, lane.fair.ahead(entry.tag) - (entry.inFairShare ? 1 : 0)),
        intervalMs: lane.drain.intervalMs(nowMs),
        remainingMs: entry.tracked.deadlineAtMs - nowMs,
      },
      this.hints,
    );
    if (!verdict.ok)
      this.host.refuse(entry, 'OVERLOADED', `${verdict.message}; waiting for room: ${reason}`, verdict.retryAfterMs);
  }

  private unpark(lane: Lane, entry: AdmissionEntry): void {
    lane.parked.delete(entry.tracked.requestId);
    const modelName = entry.model.name;
    const count = (lane.parkedByModel.get(modelName) ?? 1) - 1;
    if (count > 0) {
      lane.parkedByModel.set(modelName, count);
    } else {
      lane.parkedByModel.delete(modelName);
      // With nothing of the model left waiting, the next request for it tries for itself: the
      // block only spares redundant attempts while others already wait.
      lane.blockedModels.delete(modelName);
    }
  }

  private pass(nowMs: number): void {
    this.lastPassMs = nowMs;
    for (const lane of this.order) lane.blockedModels.clear();
    for (const lane of this.order) {
      const waiting = [...lane.parked.values()].sort((a, b) => a.tag - b.tag);
      for (const entry of waiting) {
        if (entry.state !== 'parked') continue; // answered meanwhile
        this.unpark(lane, entry);
        this.offer(lane, entry, nowMs);
      }
    }
  }

  private expireIfDue(lane: Lane, entry: AdmissionEntry, nowMs: number): void {
    if (entry.state !== 'queued' && entry.state !== 'parked') return;
    const forRoom = entry.state === 'parked';
    const waitedMs = nowMs - entry.waitingSinceMs;
    const remainingMs = entry.tracked.deadlineAtMs - nowMs;
    const where = `after waiting ${waitedMs} ms in the ${lane.sloClass} queue`;
    const why = forRoom ? ` for room (${entry.reason})` : ' for a slot';
    if (remainingMs <= 0) {
      this.host.refuse(entry, 'DEADLINE_EXCEEDED', `the deadline passed ${where}${why}`);
    } else if (remainingMs < entry.fastestMs) {
      this.host.refuse(
        entry,
        'DEADLINE_EXCEEDED',
        `${Math.round(remainingMs)} ms left ${where}${why}; the fastest node needs ${Math.ceil(entry.fastestMs)} ms`,
      );
    } else if (waitedMs >= lane.limits.maxWaitMs) {
      const ahead = Math.max(0, lane.fair.ahead(entry.tag) - (entry.inFairShare ? 1 : 0));
      const retryAfterMs = retryHintMs(lane.drain.predictWaitMs(ahead + 1, nowMs), this.hints);
      if (forRoom) {
        this.host.refuse(entry, 'NO_CAPACITY', `${entry.reason} (waited ${waitedMs} ms for room)`, retryAfterMs);
      } else {
        this.host.refuse(entry, 'OVERLOADED', `no ${lane.sloClass} slot became free ${where}`, retryAfterMs);
      }
    }
  }

  /** Why a request of `lane` for `modelName` must not try now, if it must not. */
  private blockingReason(lane: Lane, modelName: string): string | undefined {
    const blocked = lane.blockedModels.get(modelName);
    if (blocked !== undefined) return blocked;
    for (const higher of this.order) {
      if (higher === lane) return undefined;
      if ((higher.parkedByModel.get(modelName) ?? 0) > 0) {
        return `${higher.sloClass} requests for ${modelName} are waiting for room and go first`;
      }
    }
    return undefined;
  }

  private modelWaits(lane: Lane, modelName: string): boolean {
    return this.blockingReason(lane, modelName) !== undefined;
  }

  private anyParked(): boolean {
    return this.order.some((lane) => lane.parked.size > 0);
  }
}

/** Reads the state afresh: calls that ran in between may have changed it. */
function isPlaced(entry: AdmissionEntry): boolean {
  return entry.state === 'placed';
}
