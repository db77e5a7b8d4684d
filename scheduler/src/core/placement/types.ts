import type { ModelSpec } from '@switchyard/fleet-model';
import type { Priority, SloClass } from '@switchyard/protocol';
import type { NodeRecord } from '../fleet/node-record.js';

/** What placement needs to know about one unit of work. */
export interface PlacementRequest {
  readonly requestId: string;
  readonly model: ModelSpec;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly priority: Priority;
  readonly sloClass: SloClass;
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

/** The read-only fleet a decision is made over. FleetView satisfies it. */
export interface PlacementSnapshot {
  readonly nodes: readonly NodeRecord[];
}

/** Predicted timings of the request on one node, from the fleet model. */
export interface Estimate {
  readonly coldStart: boolean;
  readonly loadMs: number;
  readonly queueWaitMs: number;
  readonly prefillMs: number;
  readonly ttftMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
}

/** A node under evaluation; `estimate()` is computed at most once per node per decision. */
export interface Candidate {
  readonly node: NodeRecord;
  estimate(): Estimate;
}

/** Codes a filter may reject with; the decision's code is UNKNOWN_MODEL only if every rejection was. */
export type RejectionCode = 'NO_CAPACITY' | 'UNKNOWN_MODEL';

/**
 * Removes nodes that cannot take the request. Called once per node per decision, in configured
 * order, cheapest first. Must be pure and fast (no allocation on the pass path).
 */
export interface Filter {
  readonly name: string;
  readonly rejectionCode: RejectionCode;
  /** True if the node may take the request. */
  admits(request: PlacementRequest, candidate: Candidate): boolean;
}

/**
 * Rates a node that passed every filter. Returns a value the framework clamps into [0, 1] and
 * multiplies by the configured weight; higher is better. Must be pure.
 */
export interface Scorer {
  readonly name: string;
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
