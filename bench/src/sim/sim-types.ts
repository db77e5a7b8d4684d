/** The simulator's interface: what goes in (a fleet and requests) and what comes out. */
import type { SloClass } from '@switchyard/protocol';
import type { PlacementConfig, TopologySpec } from '@switchyard/scheduler';
import type { SimSeries } from './sim-series.js';

/** Nodes of one kind in one cluster. */
export interface SimNodeGroup {
  readonly cluster: string;
  readonly profile: string;
  readonly count: number;
  /** Models resident at start. */
  readonly models: readonly string[];
  readonly chips?: number;
  readonly maxBatchSize?: number;
}

/** What to simulate: a fleet and a request stream (arrival order). */
export interface SimulationInput {
  readonly topology: TopologySpec;
  readonly groups: readonly SimNodeGroup[];
  readonly requests: readonly SimRequest[];
  readonly seed: number;
  readonly placement?: PlacementConfig;
  /** Virtual ms between a node's heartbeats and between power-controller ticks (default 1,000, as live). */
  readonly heartbeatIntervalMs?: number;
  /** How long a batch request may wait for room (default one hour: its deadline). */
  readonly batchMaxWaitMs?: number;
  /** Run the power controller (default true); off, clusters only steer and defer by placement. */
  readonly powerControl?: boolean;
  /** Budget changes at run time (an operator, a grid event), applied at their virtual time as live. */
  readonly budgetChanges?: readonly BudgetChange[];
  /** Called as requests get their outcomes, at most ~200 times a run. */
  readonly onProgress?: (decided: number, total: number) => void;
}

export interface SimRequest {
  readonly arrivalMs: number;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly sloClass: SloClass;
  readonly region?: string;
}

/** One request's fate. */
export interface SimOutcome {
  readonly sloClass: SloClass;
  /** Error code when no node took it (placement, admission or the node refused), else undefined. */
  readonly refused: string | undefined;
  /** Arrival to first token: waiting for room, the network round trip, the node's queue and prefill. */
  readonly ttftMs: number;
  /** Arrival to last token. */
  readonly totalMs: number;
  /** Time spent waiting for room before placement. */
  readonly waitedMs: number;
  readonly outputTokens: number;
  readonly energyJoules: number;
  /** Cluster that served it. */
  readonly cluster: string | undefined;
}

export interface SimulationResult {
  readonly outcomes: readonly SimOutcome[];
  /** Virtual time the run covered (last event). */
  readonly simulatedMs: number;
  readonly nodes: number;
  /** Power and utilisation per cluster over the run. */
  readonly series: SimSeries;
  /** Node power-limit changes the controller made. */
  readonly powerLimitChanges: number;
}

/** A cluster's power budget set to `budgetWatts` at `atMs` of virtual time. */
export interface BudgetChange {
  readonly atMs: number;
  readonly cluster: string;
  readonly budgetWatts: number;
}
