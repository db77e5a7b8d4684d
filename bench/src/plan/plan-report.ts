/**
 * The capacity plan as data: what `switchyard plan` computes and every renderer (HTML, Markdown)
 * draws from. The JSON file is this object verbatim, so a later tool can read a plan back without
 * re-running the simulation.
 */
import type { SloClass, SloTargets } from '@switchyard/protocol';

export type { SloTargets } from '@switchyard/protocol';

export const PLAN_REPORT_SCHEMA = 'switchyard.plan/v1';

/** One point of a cumulative distribution: `fraction` of served requests took at most `ms`. */
export interface CdfPoint {
  readonly ms: number;
  readonly fraction: number;
}

/** One cluster over the simulated time, in equal buckets starting at virtual time 0. */
export interface ClusterSeries {
  readonly cluster: string;
  /** The cluster's budget; when it changed during the run, the lowest it had. */
  readonly powerBudgetWatts: number;
  /** Mean power drawn by the cluster's nodes in each bucket (watts). */
  readonly powerWatts: readonly number[];
  /** Mean share of the cluster's batch slots in use in each bucket (0..1). */
  readonly utilisation: readonly number[];
}

export interface PolicySummary {
  readonly policy: string;
  readonly requests: number;
  readonly refused: number;
  /** Refusals by error code (NO_CAPACITY, UNKNOWN_MODEL, …). */
  readonly refusedByCode: Readonly<Record<string, number>>;
  readonly ttftMs: { readonly p50: number; readonly p90: number; readonly p99: number };
  readonly totalMs: { readonly p50: number; readonly p90: number; readonly p99: number };
  /** Share of each class's requests that met its target; refused work counts as missed; undefined: none sent. */
  readonly attainment: Readonly<Record<SloClass, number | undefined>>;
  /** All classes together, refused work counted as missed. */
  readonly overallAttainment: number;
  /** Joules per 1,000 tokens (prompt and output) of served work. */
  readonly joulesPer1kTokens: number;
  /** Highest bucket mean of the whole fleet's power draw (watts). */
  readonly peakFleetWatts: number;
  readonly simulatedMs: number;
}

/** One policy's run on the plan's workload and fleet. */
export interface PolicyRun {
  readonly summary: PolicySummary;
  /** TTFT distribution of served requests, at most ~200 points, ms ascending. */
  readonly ttftCdf: readonly CdfPoint[];
  /** End-to-end (arrival to last token) distribution of served requests. */
  readonly totalCdf: readonly CdfPoint[];
  readonly series: { readonly bucketMs: number; readonly clusters: readonly ClusterSeries[] };
}

/** A fleet as node groups: how many nodes of which profile in which cluster. */
export interface FleetMix {
  readonly groups: readonly { readonly cluster: string; readonly profile: string; readonly count: number }[];
  readonly nodes: number;
  /** Nodes' rated peak power summed (the watts a contract must cover). */
  readonly ratedWatts: number;
}

/** One fleet the capacity search tried. */
export interface CapacityTrial {
  readonly fleet: FleetMix;
  readonly overallAttainment: number;
  readonly attainment: Readonly<Record<SloClass, number | undefined>>;
  readonly peakFleetWatts: number;
  readonly joulesPer1kTokens: number;
  readonly meetsTarget: boolean;
}

/** The capacity search's answer: the smallest fleet, by the candidate mixes, that meets the target. */
export interface CapacityAnswer {
  readonly policy: string;
  /** Required share of every class's requests meeting their SLO. */
  readonly targetAttainment: number;
  /** The answer; undefined when no fleet within the search limits meets the target. */
  readonly smallest: CapacityTrial | undefined;
  /** Why no answer, when there is none. */
  readonly reason?: string;
  /** Every fleet simulated, in the order tried. */
  readonly trials: readonly CapacityTrial[];
}

/** How far the simulator is from a live run of the same small scenario. */
export interface CalibrationSummary {
  readonly scenario: string;
  readonly live: { readonly ttftP50Ms: number; readonly ttftP99Ms: number; readonly meanPowerWatts: number };
  readonly simulated: { readonly ttftP50Ms: number; readonly ttftP99Ms: number; readonly meanPowerWatts: number };
  /** (simulated − live) / live for each figure. */
  readonly relativeError: { readonly ttftP50: number; readonly ttftP99: number; readonly meanPower: number };
}

export interface PlanReport {
  readonly schema: typeof PLAN_REPORT_SCHEMA;
  readonly title: string;
  readonly generatedAt: string;
  readonly seed: number;
  readonly targets: SloTargets;
  readonly fleet: {
    readonly source: string;
    readonly clusters: readonly {
      readonly name: string;
      readonly location: string | undefined;
      readonly powerBudgetWatts: number;
    }[];
    readonly mix: FleetMix;
  };
  readonly workload: {
    readonly source: string;
    readonly requests: number;
    /** Virtual time between the first and the last arrival. */
    readonly spanMs: number;
    /** Rows skipped with --skip-bad-rows (0 without it: a bad row stops the run). */
    readonly skippedRows: number;
    readonly byClass: Readonly<Record<SloClass, number>>;
    readonly byModel: Readonly<Record<string, number>>;
  };
  readonly policies: readonly PolicyRun[];
  readonly capacity: CapacityAnswer | undefined;
  readonly calibration: CalibrationSummary | undefined;
  readonly simulator: {
    readonly wallMs: number;
    readonly simulatedRequests: number;
    readonly requestsPerWallSecond: number;
  };
}
