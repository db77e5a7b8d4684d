import type { ModelSpec } from '@switchyard/fleet-model';
import type { Priority, SloClass } from '@switchyard/protocol';
import type { NodeRecord } from '../fleet/node-record.js';
import type { PlacementIndex } from './placement-index.js';

/** What placement needs to know about one unit of work. */
export interface PlacementRequest {
  readonly requestId: string;
  readonly model: ModelSpec;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly priority: Priority;
  readonly sloClass: SloClass;
  /** The client's region: each cluster's round trip from it is added to the predicted latency. */
  readonly region?: string | undefined;
  /**
   * What the request must meet, in ms from now: for `interactive` the TTFT target, for `batch`
   * and `standard` with a deadline the time left to complete. Undefined: the scorer's default.
   */
  readonly targetMs?: number | undefined;
  /** Nodes this request must not go to (e.g. nodes it was already lost on). */
  readonly excludeNodeIds?: ReadonlySet<string>;
}

/** Injected per decision: the clock and the RNG, so decisions replay exactly. */
export interface PlacementContext {
  readonly nowMs: number;
  readonly rng: () => number;
  /** Record every candidate's verdicts and scores (slower; for `explain`). */
  readonly explain?: boolean;
}

/** The read-only fleet a decision is made over. */
export interface PlacementSnapshot {
  readonly nodes: readonly NodeRecord[];
  /** The same nodes grouped for fast exact search, when the fleet maintains one. */
  readonly index?: PlacementIndex | undefined;
}

/** Predicted timings, energy and power of the request on one node, from the fleet model. */
export interface Estimate {
  readonly coldStart: boolean;
  /** The client's round trip to the node's cluster (0 when the request names no region). */
  readonly networkMs: number;
  readonly loadMs: number;
  readonly queueWaitMs: number;
  readonly prefillMs: number;
  readonly ttftMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
  /** The request's share of the node's energy: its prefill plus its share of the decode batch. */
  readonly energyJoules: number;
  /** How much the node's draw rises while the request runs. */
  readonly powerDeltaWatts: number;
}

/** A node under evaluation; `estimate()` is computed at most once per node per decision. */
export interface Candidate {
  readonly node: NodeRecord;
  estimate(): Estimate;
}

/** Codes a filter may reject with; the decision's code is UNKNOWN_MODEL only if every rejection was. */
export type RejectionCode = 'NO_CAPACITY' | 'UNKNOWN_MODEL';

/**
 * What a filter's verdict depends on besides the request, so the placement index can evaluate it
 * once for many nodes: `family` — only the node's hardware, batch size and loaded models;
 * `load` — those plus its load and prefill backlog; `node` — anything (evaluated per node).
 */
export type FilterScope = 'family' | 'load' | 'node';

/**
 * Removes nodes that cannot take the request. Called once per node per decision, in configured
 * order, cheapest first. Must be pure and fast (no allocation on the pass path).
 */
export interface Filter {
  readonly name: string;
  readonly rejectionCode: RejectionCode;
  /** Declares what the verdict depends on; without it the framework always scans every node. */
  readonly scope?: FilterScope;
  /**
   * Declaration for the placement index: the filter admits a node only if its free HBM
   * (hbmTotalBytes − hbmUsedBytes − reservedKvBytes) is at least this many bytes, given whether the
   * request would cold-start there; the index then skips load levels where no node has that much.
   * Must not over-state what `admits` requires.
   */
  minFreeHbmBytes?(request: PlacementRequest, coldStart: boolean): number;
  /** True if the node may take the request. */
  admits(request: PlacementRequest, candidate: Candidate): boolean;
}

/**
 * Rates a node that passed every filter. Returns a value the framework clamps into [0, 1] and
 * multiplies by the configured weight; higher is better. Must be pure.
 */
export interface Scorer {
  readonly name: string;
  /**
   * Promise, for the placement index: while a node has a free batch slot, the score depends only
   * on its hardware, batch size, loaded models, load and prefill backlog, and never rises when
   * load or backlog grows. Without it the framework always scans every node.
   */
  readonly indexable?: boolean;
  /**
   * Promise, for the placement index's bounded search: the score reads from the candidate only
   * `estimate()` and the power stage of `node.clusterState`, and never rises when any of the
   * estimate's durations, its energy or its power delta rises, when `coldStart` turns true, or when
   * the stage grows more severe (normal < steer < defer < cap). The framework then bounds a whole
   * group of nodes by scoring a stand-in candidate whose estimate is a field-wise lower bound over
   * the group (and whose node is in the group's mildest stage), and searches groups best bound
   * first. Unlike `indexable`, the score may rise with load (a fuller batch costs less energy).
   * Without either, the framework scans every node.
   */
  readonly estimateMonotone?: boolean;
  score(request: PlacementRequest, candidate: Candidate): number;
}

/** One picker run per decision: offered every surviving node with its weighted score, picks one. */
export interface PickerRun {
  offer(node: NodeRecord, score: number): void;
  picked(): { readonly node: NodeRecord; readonly score: number } | undefined;
}

/** Chooses among scored nodes (e.g. the best, ties broken by the injected RNG). */
export interface Picker {
  readonly name: string;
  begin(context: PlacementContext): PickerRun;
}

/** One candidate's story, recorded only in explain mode. */
export interface CandidateExplanation {
  readonly nodeId: string;
  readonly rejectedBy?: string;
  readonly scores?: Readonly<Record<string, number>>;
  readonly total?: number;
  readonly estimate?: Estimate;
}

/** Outcome of a placement: a node, or a typed "nothing fits" with counts of rejections by filter. */
export type PlacementDecision =
  | {
      readonly ok: true;
      readonly node: NodeRecord;
      readonly score: number;
      readonly estimate: Estimate;
      readonly candidates: number;
      readonly explanation?: readonly CandidateExplanation[];
    }
  | {
      readonly ok: false;
      readonly code: RejectionCode;
      readonly message: string;
      readonly rejectedBy: Readonly<Record<string, number>>;
      readonly candidates: number;
      readonly explanation?: readonly CandidateExplanation[];
    };
