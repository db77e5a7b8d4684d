import type { ModelSpec } from '@switchyard/fleet-model';
import type { ErrorCode, SloClass } from '@switchyard/protocol';
import PQueue from 'p-queue';
import type { ClassAdmissionConfig } from '../../core/admission/admission-config.js';
import { DrainRate } from '../../core/admission/drain-rate.js';
import { FairShare } from '../../core/admission/fair-share.js';
import type { TrackedRequest } from '../../core/requests/request-ledger.js';

/** Where an accepted request stands in admission. */
export type EntryState = 'queued' | 'running' | 'placed' | 'parked' | 'done';

/** An accepted request as admission tracks it, from acceptance to its answer. */
export interface AdmissionEntry {
  readonly tracked: TrackedRequest;
  readonly model: ModelSpec;
  readonly sloClass: SloClass;
  /** Fair-share finish tag: the order it is served in within its class. */
  readonly tag: number;
  /** Fastest completion any node could give it, idle (0 when unknown): less time left than this is a lost cause. */
  readonly fastestMs: number;
  state: EntryState;
  /** Since when it has waited (maxWaitMs counts from here; reset when a placed request must be placed again). */
  waitingSinceMs: number;
  /** Counted in its class's fair share until its first placement or its end. */
  inFairShare: boolean;
  /** Whether it waited since it was last placed: its placement then is a departure from the backlog. */
  waited: boolean;
  /** Why it waits for capacity (the last placement refusal). */
  reason: string;
  /** Counts its offers to the p-queue: a task from an earlier offer that comes up late does nothing. */
  offers: number;
  /** Ends its p-queue task (frees the concurrency slot) while placed. */
  settle: (() => void) | undefined;
}

/** What became of one placement attempt. */
export type AttemptOutcome =
  | { readonly kind: 'placed' }
  /** Nothing has room now; `blocksModel`: others of the class asking for the same model would fare no better. */
  | { readonly kind: 'no-capacity'; readonly message: string; readonly blocksModel: boolean }
  /** The request ended (answered with an error); the host has called `finished`. */
  | { readonly kind: 'answered' };

/** The service behind the queues: places requests and answers them. */
export interface AdmissionHost {
  /** Tries to place the request now. When the request ends here it answers it and calls `finished`. */
  attempt(entry: AdmissionEntry): AttemptOutcome;
  /** Answers the request with an error and ends it (calling `finished`). */
  refuse(entry: AdmissionEntry, code: ErrorCode, message: string, retryAfterMs?: number): void;
}

/** Point-in-time figures of one class queue, for metrics. */
export interface ClassQueueStats {
  /** Waiting for a concurrency slot. */
  readonly queued: number;
  /** Waiting for room on a node (or behind a higher class asking for the same model). */
  readonly waitingForCapacity: number;
  /** Placed and not yet finished (holding a concurrency slot). */
  readonly placed: number;
  readonly concurrency: number;
  readonly maxQueued: number;
  /** How long the longest-waiting request has waited. */
  readonly oldestWaitMs: number;
  /** Smoothed wait of requests that waited before they were placed (0 before any did). */
  readonly meanWaitMs: number;
  /** Placements per second from the backlog while there was one. */
  readonly drainPerSecond: number;
}

/** One SLO class: its p-queue (concurrency, fair-share order) and those of its requests waiting for room. */
export class Lane {
  readonly queue: PQueue;
  readonly fair: FairShare;
  readonly drain: DrainRate;
  readonly queued = new Set<AdmissionEntry>();
  readonly parked = new Map<string, AdmissionEntry>();
  readonly parkedByModel = new Map<string, number>();
  /** Models a request of this class found no room for since capacity last may have freed, with why. */
  readonly blockedModels = new Map<string, string>();
  placed = 0;
  meanWaitMs: number | undefined;

  constructor(
    readonly sloClass: SloClass,
    readonly limits: ClassAdmissionConfig,
    weightOf: (tenant: string) => number,
    drainHalfLifeMs: number,
  ) {
    this.queue = new PQueue({ concurrency: limits.concurrency });
    this.fair = new FairShare(weightOf);
    this.drain = new DrainRate(drainHalfLifeMs);
  }

  get waiting(): number {
    return this.queued.size + this.parked.size;
  }
}
