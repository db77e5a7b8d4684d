/**
 * The decoding sequences of one node, grouped by model, advanced analytically. Between events the
 * batch is constant, so each model group keeps a virtual progress clock V that advances at
 * dV/dt = speedFactor / t(B) tokens per ms (t from decodeStepMs over the node's whole decoding batch
 * B, mixed models included). A sequence with jitter factor m joining at V0 with n tokens to go
 * finishes when V = V0 + n / m; sequences wait in a min-heap by that V. A batch-size change
 * re-rates every remaining token by changing one rate per group: O(models) per event, O(log n) per
 * completion, and nothing per token.
 */
import { MinHeap } from './min-heap.js';
import type { ModelSpec } from './types.js';

interface DecodeGroup<J> {
  readonly model: ModelSpec;
  /** Sequences by the progress at which they finish; removed ones are skipped when they surface. */
  readonly heap: MinHeap<J>;
  count: number;
  progress: number;
  ratePerMs: number;
}

/** The next completion of a DecodeBatch: when, and in which model's group. */
export interface DecodeCompletion {
  readonly atMs: number;
  readonly model: string;
}

/** Decoding sequences of type J by model, with lazy removal decided by `isLive`. */
export class DecodeBatch<J> {
  private readonly groups = new Map<string, DecodeGroup<J>>();
  private decoding = 0;

  /** `isLive(job)` must turn false once a job has been removed, so its heap entry is skipped. */
  constructor(private readonly isLive: (job: J) => boolean) {}

  /** Sequences decoding on the node, all models together. */
  get size(): number {
    return this.decoding;
  }

  /** Adds `job` of `model`, which has `tokens` tokens to produce at `jitterFactor` × the batch's speed. */
  join(job: J, model: ModelSpec, tokens: number, jitterFactor: number): void {
    let group = this.groups.get(model.name);
    if (group === undefined) {
      group = { model, heap: new MinHeap(), count: 0, progress: 0, ratePerMs: 0 };
      this.groups.set(model.name, group);
    }
    group.heap.push(group.progress + tokens / jitterFactor, job);
    group.count++;
    this.decoding++;
  }

  /** Accounts for a job of `modelName` leaving early (cancelled); the caller has made isLive(job) false. */
  remove(modelName: string): void {
    this.leave(this.groups.get(modelName)!);
  }

  /** The earliest completion if rates stay as they are, measured from `nowMs`; undefined when none decode. */
  nextCompletion(nowMs: number): DecodeCompletion | undefined {
    let best: DecodeCompletion | undefined;
    for (const group of this.groups.values()) {
      if (group.count === 0) continue;
      while (!this.isLive(group.heap.peek()!)) group.heap.pop();
      const atMs = nowMs + Math.max(0, group.heap.peekKey()! - group.progress) / group.ratePerMs;
      if (best === undefined || atMs < best.atMs) best = { atMs, model: group.model.name };
    }
    return best;
  }

  /** Removes and returns the job that finishes first in `modelName`'s group (after nextCompletion named it). */
  popCompletion(modelName: string): J {
    const group = this.groups.get(modelName)!;
    const finishAt = group.heap.peekKey()!;
    const job = group.heap.pop()!;
    // Snap to the exact finishing progress so rounding never leaves a job a hair short.
    group.progress = Math.max(group.progress, finishAt);
    this.leave(group);
    return job;
  }

  /** Moves every group's progress on by `dtMs` at its current rate. */
  integrate(dtMs: number): void {
    for (const group of this.groups.values()) {
      if (group.count > 0) group.progress += group.ratePerMs * dtMs;
    }
  }

  /** Sets each group's rate for the current batch: speedFactor / stepMs(model, size). */
  rerate(speedFactor: number, stepMs: (model: ModelSpec, batchSize: number) => number): void {
    for (const group of this.groups.values()) {
      if (group.count > 0) group.ratePerMs = speedFactor / stepMs(group.model, this.decoding);
    }
  }

  private leave(group: DecodeGroup<J>): void {
    group.count--;
    this.decoding--;
    if (group.count === 0) {
      // Rebase whenever a group empties, so progress never grows large enough to lose precision.
      group.heap.clear();
      group.progress = 0;
    }
  }
}
