/**
 * `switchyard plan`'s computation, free of argument parsing and file writing: a fleet and a
 * workload in, a PlanReport out. Every policy runs the same requests on the same fleet; the
 * capacity search reruns the workload on candidate fleets under one policy.
 */
import type { SloClass, SloTargets } from '@switchyard/protocol';
import { DEFAULT_SLO_TARGETS } from '@switchyard/protocol';
import type { PlacementConfig } from '@switchyard/scheduler';
import { POLICIES, policyRunOf } from '../sim/policy-report.js';
import type { SimFleet } from '../sim/fleet-spec.js';
import { type BudgetChange, type SimNodeGroup, type SimRequest, simulate } from '../sim/simulator.js';
import type { WorkloadRequest } from '../workload/workload.js';
import { fleetMixOf, searchCapacity } from './capacity-search.js';
import { type CalibrationSummary, PLAN_REPORT_SCHEMA, type PlanReport, type PolicyRun } from './plan-report.js';

/** Weighted choices, e.g. `{ 'llama-3.1-8b': 0.8, 'llama-3.3-70b': 0.2 }`. */
export type Weights = Readonly<Record<string, number>>;

export const DEFAULT_CLASS_MIX: Readonly<Record<SloClass, number>> = { interactive: 0.65, standard: 0.25, batch: 0.1 };

/** How trace rows, which carry only sizes and times, become requests. */
export interface RequestMix {
  readonly models: Weights;
  readonly classes: Readonly<Partial<Record<SloClass, number>>>;
  /** Client regions to spread requests over, evenly or by weight; empty: no region (no network latency). */
  readonly regions: readonly string[] | Weights;
}

/**
 * Gives each row a model, an SLO class and a region, drawn with a seeded generator independent of
 * the simulation's. Rows of one session share all three: a conversation stays one kind of work, from
 * one place.
 */
export function assignMix(rows: readonly WorkloadRequest[], mix: RequestMix, seed: number): SimRequest[] {
  const models = cumulative(mix.models, 'model');
  const classes = cumulative(mix.classes, 'SLO class');
  const regionWeights: Weights = Array.isArray(mix.regions)
    ? Object.fromEntries((mix.regions as readonly string[]).map((name) => [name, 1]))
    : (mix.regions as Weights);
  const regions = Object.keys(regionWeights).length === 0 ? [] : cumulative(regionWeights, 'region');
  let state = (seed % 2_147_483_646) + 1;
  const next = (): number => (state = (state * 48_271) % 2_147_483_647) / 2_147_483_647;
  const bySession = new Map<string, Pick<SimRequest, 'model' | 'sloClass' | 'region'>>();
  return rows.map((row) => {
    let kind = row.sessionId === undefined ? undefined : bySession.get(row.sessionId);
    if (kind === undefined) {
      const region = regions.length === 0 ? undefined : pick(regions, next());
      kind = {
        model: pick(models, next()),
        sloClass: pick(classes, next()) as SloClass,
        ...(region === undefined ? {} : { region }),
      };
      if (row.sessionId !== undefined) bySession.set(row.sessionId, kind);
    }
    return {
      arrivalMs: row.arrivalMs,
      inputTokens: Math.max(1, row.inputTokens),
      // Rows that generated nothing still cost a prefill; the engine produces at least one token.
      outputTokens: Math.max(1, row.outputTokens),
      ...kind,
    };
  });
}

function cumulative(weights: Weights, what: string): { name: string; upTo: number }[] {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (entries.length === 0 || !Number.isFinite(total)) throw new RangeError(`the ${what} mix needs a positive weight`);
  let upTo = 0;
  return entries.map(([name, weight]) => ({ name, upTo: (upTo += weight / total) }));
}

function pick(choices: readonly { name: string; upTo: number }[], u: number): string {
  return (choices.find((c) => u < c.upTo) ?? choices.at(-1)!).name;
}

export interface PlanOptions {
  readonly title: string;
  readonly fleet: SimFleet;
  readonly fleetSource: string;
  readonly requests: readonly SimRequest[];
  readonly workloadSource: string;
  readonly skippedRows: number;
  readonly seed: number;
  /** Budget changes during the run (e.g. the demo's budget cut), replayed at their times. */
  readonly budgetChanges?: readonly BudgetChange[];
  readonly policies?: Readonly<Record<string, PlacementConfig>>;
  readonly targets?: SloTargets;
  /** Run the capacity search at this attainment (e.g. 0.99); undefined: no search. */
  readonly capacityTarget?: number;
  /** Policy the capacity search uses (default switchyard). */
  readonly capacityPolicy?: string;
  readonly capacityMaxTrials?: number;
  readonly calibration?: CalibrationSummary;
  /** Told what is happening: a phase name and its progress in [0, 1]. */
  readonly onProgress?: (phase: string, fraction: number) => void;
  /** The report's timestamp (injected so a golden test can pin it). */
  readonly now?: () => Date;
}

export function runPlan(options: PlanOptions): PlanReport {
  const policies = options.policies ?? POLICIES;
  const targets = options.targets ?? DEFAULT_SLO_TARGETS;
  const progress = options.onProgress ?? (() => {});
  const input = {
    ...options.fleet,
    requests: options.requests,
    seed: options.seed,
    ...(options.budgetChanges === undefined ? {} : { budgetChanges: options.budgetChanges }),
  };
  const started = performance.now();
  let simulated = 0;
  const names = Object.keys(policies);
  const runs: PolicyRun[] = names.map((name, i) => {
    const phase = `policy ${name} (${i + 1}/${names.length})`;
    progress(phase, 0);
    const result = simulate({
      ...input,
      placement: policies[name]!,
      onProgress: (decided, total) => progress(phase, decided / total),
    });
    simulated += options.requests.length;
    return policyRunOf(name, input, result, targets);
  });

  let capacity: PlanReport['capacity'];
  if (options.capacityTarget !== undefined) {
    const policy = options.capacityPolicy ?? 'switchyard';
    const placement = policies[policy] ?? POLICIES[policy];
    if (placement === undefined) throw new RangeError(`unknown capacity policy ${JSON.stringify(policy)}`);
    progress('capacity search', 0);
    capacity = searchCapacity({
      groups: options.fleet.groups,
      neededModels: new Set(options.requests.map((r) => r.model)),
      targetAttainment: options.capacityTarget,
      policy,
      ...(options.capacityMaxTrials === undefined ? {} : { maxTrials: options.capacityMaxTrials }),
      evaluate: (groups: readonly SimNodeGroup[]) => {
        simulated += options.requests.length;
        return policyRunOf(policy, input, simulate({ ...input, groups, placement }), targets).summary;
      },
      onTrial: (_trial, trials, maxTrials) => progress('capacity search', trials / maxTrials),
    });
    progress('capacity search', 1);
  }
  const wallMs = performance.now() - started;

  const byClass: Record<SloClass, number> = { interactive: 0, standard: 0, batch: 0 };
  const byModel: Record<string, number> = {};
  for (const request of options.requests) {
    byClass[request.sloClass]++;
    byModel[request.model] = (byModel[request.model] ?? 0) + 1;
  }
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (const request of options.requests) {
    firstMs = Math.min(firstMs, request.arrivalMs);
    lastMs = Math.max(lastMs, request.arrivalMs);
  }
  return {
    schema: PLAN_REPORT_SCHEMA,
    title: options.title,
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    seed: options.seed,
    targets,
    fleet: {
      source: options.fleetSource,
      clusters: options.fleet.topology.clusters.map((c) => ({
        name: c.name,
        location: c.location,
        powerBudgetWatts: c.powerBudgetWatts,
      })),
      mix: fleetMixOf(options.fleet.groups),
    },
    workload: {
      source: options.workloadSource,
      requests: options.requests.length,
      spanMs: options.requests.length === 0 ? 0 : lastMs - firstMs,
      skippedRows: options.skippedRows,
      byClass,
      byModel,
    },
    policies: runs,
    capacity,
    calibration: options.calibration,
    simulator: {
      wallMs,
      simulatedRequests: simulated,
      requestsPerWallSecond: wallMs === 0 ? 0 : (simulated / wallMs) * 1000,
    },
  };
}
