import type { BackendCompletion, BackendJob } from '../backend.js';

/** Where a job stands in the OpenAI backend: waiting in its queue, sent to the server, or finished. */
export type ServerJobState = 'queued' | 'running' | 'done';

/** The OpenAI backend's bookkeeping for one job, from acceptance to its outcome. */
export interface ServerJob {
  readonly job: BackendJob;
  readonly acceptedAtMs: number;
  state: ServerJobState;
  startedAtMs: number;
  firstTokenAtMs: number | undefined;
  lastDataAtMs: number;
  readonly chunks: string[];
  usageTokens: number | undefined;
  controller: AbortController | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  stalled: boolean;
  /** The HTTP exchange ended (the body was read to its end, failed, or was aborted). */
  exchangeOver: boolean;
}

/** A job just accepted at `nowMs`, waiting in the queue. */
export function queuedServerJob(job: BackendJob, nowMs: number): ServerJob {
  return {
    job,
    acceptedAtMs: nowMs,
    state: 'queued',
    startedAtMs: nowMs,
    firstTokenAtMs: undefined,
    lastDataAtMs: nowMs,
    chunks: [],
    usageTokens: undefined,
    controller: undefined,
    stallTimer: undefined,
    stalled: false,
    exchangeOver: false,
  };
}

/**
 * The completion of a job that got [DONE] at `nowMs`. outputTokens: the server's
 * `usage.completion_tokens`, or the count of text chunks when it sent none. loadMs is 0 (the server
 * loads at its start, not per job) and energyJoules 0 (nothing here measures energy per request).
 */
export function serverJobCompletion(entry: ServerJob, nowMs: number): BackendCompletion {
  return {
    jobId: entry.job.id,
    outputTokens: entry.usageTokens ?? entry.chunks.length,
    timings: {
      queueMs: entry.startedAtMs - entry.acceptedAtMs,
      loadMs: 0,
      ttftMs: (entry.firstTokenAtMs ?? nowMs) - entry.acceptedAtMs,
      totalMs: nowMs - entry.acceptedAtMs,
    },
    energyJoules: 0,
    text: entry.chunks.join(''),
  };
}

/**
 * Watches an exchange for silence: once nothing has arrived for `requestTimeoutMs`, aborts its
 * request. One timer per exchange, re-armed for the remaining silence rather than reset on every
 * chunk. The caller clears `entry.stallTimer` and sets `exchangeOver` when the exchange ends.
 */
export function armStallTimer(entry: ServerJob, delayMs: number, requestTimeoutMs: number, clock: () => number): void {
  entry.stallTimer = setTimeout(
    () => {
      if (entry.exchangeOver) return;
      const silentMs = clock() - entry.lastDataAtMs;
      if (silentMs >= requestTimeoutMs) {
        // A job still running fails as stalled; a finished one only has its connection cut.
        entry.stalled = entry.state === 'running';
        entry.controller?.abort();
      } else armStallTimer(entry, requestTimeoutMs - silentMs, requestTimeoutMs, clock);
    },
    Math.max(1, Math.ceil(delayMs)),
  );
}
