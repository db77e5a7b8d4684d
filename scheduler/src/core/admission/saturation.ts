import type { SloClass } from '@switchyard/protocol';

/** A class queue as one request sees it when it must decide whether to wait in it. */
export interface QueueOutlook {
  readonly sloClass: SloClass;
  /** Requests of the class waiting now, this one not included. */
  readonly waiting: number;
  readonly maxQueued: number;
  /** Whether the request has to wait at all (slots taken, requests ahead, or its model waits for room). */
  readonly mustWait: boolean;
  /** Waiting requests that fair share serves before this one. */
  readonly ahead: number;
  /** Mean time between placements from the queue while backlogged; undefined before there is evidence. */
  readonly intervalMs: number | undefined;
  /** Time left before the request's deadline. */
  readonly remainingMs: number;
}

/** Bounds of the `retryAfterMs` hint. */
export interface RetryHintBounds {
  readonly minRetryAfterMs: number;
  readonly maxRetryAfterMs: number;
  /** Sent when the queue has no measured drain rate yet. */
  readonly fallbackRetryAfterMs: number;
}

/** Whether a request may wait in its class queue, or is refused OVERLOADED with a hint when to come back. */
export type SaturationVerdict =
  | { readonly ok: true; readonly predictedWaitMs: number | undefined }
  | {
      readonly ok: false;
      readonly reason: 'queue-full' | 'predicted-wait';
      readonly message: string;
      readonly retryAfterMs: number;
    };

/**
 * Refuses early rather than queue forever: a full queue refuses outright, and a request whose
 * predicted wait — its place in the fair-share order times the queue's measured time between
 * placements — exceeds its remaining deadline is refused now instead of failing at its deadline.
 * The hint is how long the queue takes to drain far enough for the same request to fit.
 */
export function judgeSaturation(queue: QueueOutlook, bounds: RetryHintBounds): SaturationVerdict {
  if (queue.waiting >= queue.maxQueued) {
    const excess = queue.waiting - queue.maxQueued + 1;
    return {
      ok: false,
      reason: 'queue-full',
      message: `the ${queue.sloClass} queue is full (${queue.waiting} waiting, limit ${queue.maxQueued})`,
      retryAfterMs: retryHintMs(queue.intervalMs === undefined ? undefined : excess * queue.intervalMs, bounds),
    };
  }
  if (!queue.mustWait || queue.intervalMs === undefined) {
    return { ok: true, predictedWaitMs: queue.mustWait ? undefined : 0 };
  }
  const predictedWaitMs = (queue.ahead + 1) * queue.intervalMs;
  if (predictedWaitMs <= queue.remainingMs) return { ok: true, predictedWaitMs };
  return {
    ok: false,
    reason: 'predicted-wait',
    message:
      `the ${queue.sloClass} queue is saturated: about ${Math.round(predictedWaitMs)} ms to reach this request ` +
      `(${queue.ahead} ahead, one placed every ${Math.round(queue.intervalMs)} ms) but its deadline leaves ${Math.round(queue.remainingMs)} ms`,
    retryAfterMs: retryHintMs(predictedWaitMs - queue.remainingMs, bounds),
  };
}

/** A retry hint from a predicted time, clamped into the bounds and whole; the fallback when unknown. */
export function retryHintMs(predictedMs: number | undefined, bounds: RetryHintBounds): number {
  const raw = predictedMs === undefined || !Number.isFinite(predictedMs) ? bounds.fallbackRetryAfterMs : predictedMs;
  return Math.ceil(Math.min(bounds.maxRetryAfterMs, Math.max(bounds.minRetryAfterMs, raw)));
}
