/**
 * Every microbenchmark suite, planned and run one at a time (so that one suite's fleets can be
 * collected before the next is built). Used by main.ts and by the smoke test.
 */
import { planCodecSuite } from './codec.bench.js';
import { planHeartbeatSuite } from './heartbeat.bench.js';
import { planMetricsSuite } from './metrics.bench.js';
import { planSessionsAdmissionSuite } from './sessions-admission.bench.js';
import { planPlacementSuite } from './placement.bench.js';
import {
  FULL_RUN,
  QUICK_RUN,
  runCases,
  type CaseResult,
  type RunSettings,
  type SuiteOptions,
  type SuitePlan,
} from './runner.js';

/** How to run the suites. */
export interface MicroRunOptions {
  readonly quick: boolean;
  readonly seed: number;
  readonly filter?: string;
  /** Overrides the quick/full timing (the smoke test uses TINY_RUN). */
  readonly settings?: RunSettings;
  /** Fleet sizes of the placement suite (default 1k, 10k, 50k). */
  readonly placementNodeCounts?: readonly number[];
  /** Fleet size of the heartbeat suite (default 10k). */
  readonly heartbeatNodes?: number;
  /** Requests checked against brute force per fleet (scaled down above 10k nodes). */
  readonly verifySamples?: number;
  readonly log?: (line: string) => void;
}

/** Results of every case that ran, and each suite's checks. */
export interface MicroRun {
  readonly settings: RunSettings;
  readonly results: CaseResult[];
  readonly checks: Record<string, Record<string, number | string>>;
}

type Planner = (options: SuiteOptions) => SuitePlan;

/** Plans and runs placement, heartbeat and codec suites in that order. */
export function runMicroSuites(options: MicroRunOptions): MicroRun {
  const settings = options.settings ?? (options.quick ? QUICK_RUN : FULL_RUN);
  const base = {
    seed: options.seed,
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.log === undefined ? {} : { log: options.log }),
    verifySamples: options.verifySamples ?? (options.quick ? 50 : 200),
  };
  const suites: [Planner, SuiteOptions][] = [
    [
      planPlacementSuite,
      options.placementNodeCounts === undefined ? base : { ...base, nodeCounts: options.placementNodeCounts },
    ],
    [
      planHeartbeatSuite,
      options.heartbeatNodes === undefined ? base : { ...base, nodeCounts: [options.heartbeatNodes] },
    ],
    [planCodecSuite, base],
    [
      planSessionsAdmissionSuite,
      options.heartbeatNodes === undefined ? base : { ...base, nodeCounts: [options.heartbeatNodes] },
    ],
    [
      planMetricsSuite,
      options.placementNodeCounts === undefined ? base : { ...base, nodeCounts: [options.placementNodeCounts[0]!] },
    ],
  ];
  const results: CaseResult[] = [];
  const checks: Record<string, Record<string, number | string>> = {};
  for (const [plan, suiteOptions] of suites) {
    const started = performance.now();
    const suite = plan(suiteOptions);
    if (suite.cases.length === 0) continue;
    options.log?.(
      `${suite.suite}: prepared in ${Math.round(performance.now() - started)} ms; running ${suite.cases.length} case(s)`,
    );
    results.push(...runCases(suite.cases, settings));
    checks[suite.suite] = { ...suite.checks, ...suite.afterRun?.() };
  }
  return { settings, results, checks };
}
