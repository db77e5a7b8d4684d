/**
 * Example capacity plans for the renderers' tests and for looking at a report without running a
 * simulation: two 25 kW edge clusters, the five placement policies, a capacity search and a
 * calibration. Figures are drawn from a seeded generator so every call returns the same plan; they
 * are shaped like a simulation's (lognormal latencies, a load that rises and falls over the hour,
 * a power-aware policy that stays under budget while the blind ones go over), not taken from one.
 */
import { createRng } from '@switchyard/fleet-model';
import { DEFAULT_SLO_TARGETS, type SloClass } from '@switchyard/protocol';
import { percentile } from '../report/percentiles.js';
import { cdfOf } from '../sim/policy-report.js';
import {
  type CapacityTrial,
  type ClusterSeries,
  type FleetMix,
  PLAN_REPORT_SCHEMA,
  type PlanReport,
  type PolicyRun,
  type SloTargets,
} from './plan-report.js';

const TARGETS: SloTargets = DEFAULT_SLO_TARGETS;
const REQUESTS = 12_480;
const BY_CLASS: Record<SloClass, number> = { interactive: 7_488, standard: 3_120, batch: 1_872 };
const BUCKET_MS = 60_000;
const BUCKETS = 60;
const SAMPLES = 2_000;
const CDF_POINTS = 100;

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

interface ClusterShape {
  readonly name: string;
  readonly location: string;
  readonly idleWatts: number;
  readonly ratedWatts: number;
  /** Share of the fleet's load this cluster's clients send. */
  readonly loadShare: number;
}

const CLUSTERS: readonly ClusterShape[] = [
  // 32 × h100 (67 W idle, 700 W peak) and 8 × trn2 (50 W, 500 W): rated above the 25 kW budget.
  { name: 'fra', location: 'Frankfurt', idleWatts: 2_544, ratedWatts: 26_400, loadShare: 0.56 },
  // 28 × h100 and 24 × l4 (16 W, 72 W).
  { name: 'iad', location: 'Ashburn', idleWatts: 2_260, ratedWatts: 21_328, loadShare: 0.44 },
];

const FLEET: FleetMix = {
  groups: [
    { cluster: 'fra', profile: 'h100', count: 32 },
    { cluster: 'fra', profile: 'trn2', count: 8 },
    { cluster: 'iad', profile: 'h100', count: 28 },
    { cluster: 'iad', profile: 'l4', count: 24 },
  ],
  nodes: 92,
  ratedWatts: 47_728,
};

interface PolicyShape {
  readonly policy: string;
  readonly ttftMedianMs: number;
  /** Log-space spread of TTFT; blind policies queue more, so their tails are longer. */
  readonly ttftSpread: number;
  /** Share of requests that hit a hot node and wait several times longer. */
  readonly hotShare: number;
  readonly decodeMsPerToken: number;
  readonly refusedByCode: Readonly<Record<string, number>>;
  /** How evenly the policy spreads load (1: by client share) and how hard it drives the chips. */
  readonly fraBias: number;
  readonly powerFactor: number;
  /** Power-aware policies keep each cluster's bucket mean under this share of its budget. */
  readonly budgetCeiling: number | undefined;
  readonly joulesPer1kTokens: number;
}

const POLICIES: readonly PolicyShape[] = [
  {
    policy: 'random',
    ttftMedianMs: 520,
    ttftSpread: 0.85,
    hotShare: 0.04,
    decodeMsPerToken: 30,
    refusedByCode: { NO_CAPACITY: 41 },
    fraBias: 1.12,
    powerFactor: 1.02,
    budgetCeiling: undefined,
    joulesPer1kTokens: 468,
  },
  {
    policy: 'round-robin',
    ttftMedianMs: 430,
    ttftSpread: 0.75,
    hotShare: 0.03,
    decodeMsPerToken: 29,
    refusedByCode: { NO_CAPACITY: 22 },
    fraBias: 1.08,
    powerFactor: 1,
    budgetCeiling: undefined,
    joulesPer1kTokens: 455,
  },
  {
    policy: 'least-loaded',
    ttftMedianMs: 300,
    ttftSpread: 0.65,
    hotShare: 0.015,
    decodeMsPerToken: 27,
    refusedByCode: { NO_CAPACITY: 9 },
    fraBias: 1.02,
    powerFactor: 0.98,
    budgetCeiling: undefined,
    joulesPer1kTokens: 441,
  },
  {
    policy: 'latency-first',
    ttftMedianMs: 190,
    ttftSpread: 0.6,
    hotShare: 0.01,
    decodeMsPerToken: 20,
    refusedByCode: { NO_CAPACITY: 6 },
    fraBias: 1.15,
    powerFactor: 1.05,
    budgetCeiling: undefined,
    joulesPer1kTokens: 502,
  },
  {
    policy: 'switchyard',
    ttftMedianMs: 230,
    ttftSpread: 0.5,
    hotShare: 0.005,
    decodeMsPerToken: 22,
    refusedByCode: { NO_CAPACITY: 3, OVERLOADED: 5 },
    fraBias: 0.97,
    powerFactor: 0.94,
    budgetCeiling: 0.97,
    joulesPer1kTokens: 352,
  },
];

function percentilesOf(sorted: readonly number[]): { p50: number; p90: number; p99: number } {
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

/** The fleet's load over the hour (0..1): a morning ramp with minute-to-minute noise. */
function loadAt(bucket: number, random: () => number): number {
  const ramp = 0.45 + 0.38 * Math.sin((Math.PI * (bucket + 6)) / (BUCKETS + 12));
  return Math.min(1, Math.max(0.05, ramp + 0.05 * normal(random)));
}

/** Every policy sees the same arrivals, so the load curve is drawn once. */
const LOAD = ((random: () => number) => Array.from({ length: BUCKETS }, (_, bucket) => loadAt(bucket, random)))(
  createRng(7),
);

function clusterSeries(shape: PolicyShape, random: () => number): ClusterSeries[] {
  return CLUSTERS.map((cluster) => {
    const bias = cluster.name === 'fra' ? shape.fraBias : 2 - shape.fraBias;
    const utilisation = LOAD.map((l) => Math.min(1, Math.max(0, l * bias * 1.05 + 0.015 * normal(random))));
    const powerWatts = utilisation.map((u) => {
      // Never above the nodes' rated peak, however hard a policy drives them.
      const watts = cluster.idleWatts + (cluster.ratedWatts - cluster.idleWatts) * Math.min(1, u * shape.powerFactor);
      const ceiling = shape.budgetCeiling === undefined ? Number.POSITIVE_INFINITY : 25_000 * shape.budgetCeiling;
      return Math.round(Math.min(watts, ceiling));
    });
    return { cluster: cluster.name, powerBudgetWatts: 25_000, powerWatts, utilisation };
  });
}

function policyRun(shape: PolicyShape, seed: number): PolicyRun {
  const random = createRng(seed);
  const classes: SloClass[] = [];
  const ttfts: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const hot = random() < shape.hotShare ? 3 + 4 * random() : 1;
    const ttft = shape.ttftMedianMs * Math.exp(shape.ttftSpread * normal(random)) * hot;
    const outputTokens = Math.min(4_000, Math.max(1, Math.round(180 * Math.exp(0.7 * normal(random)))));
    classes.push(i % 20 < 12 ? 'interactive' : i % 20 < 17 ? 'standard' : 'batch');
    ttfts.push(ttft);
    totals.push(ttft + outputTokens * shape.decodeMsPerToken);
  }
  const refused = Object.values(shape.refusedByCode).reduce((sum, n) => sum + n, 0);
  const servedShare = (REQUESTS - refused) / REQUESTS;
  const met = (sloClass: SloClass): number => {
    const limit = (i: number): boolean =>
      sloClass === 'interactive'
        ? (ttfts[i] ?? Infinity) <= TARGETS.interactiveTtftMs
        : (totals[i] ?? Infinity) <= (sloClass === 'standard' ? TARGETS.standardTotalMs : TARGETS.batchTotalMs);
    const indices = classes.flatMap((c, i) => (c === sloClass ? [i] : []));
    return (indices.filter(limit).length / indices.length) * servedShare;
  };
  const attainment = { interactive: met('interactive'), standard: met('standard'), batch: met('batch') };
  const overallAttainment =
    (attainment.interactive * BY_CLASS.interactive +
      attainment.standard * BY_CLASS.standard +
      attainment.batch * BY_CLASS.batch) /
    REQUESTS;
  const sortedTtft = [...ttfts].sort((a, b) => a - b);
  const sortedTotal = [...totals].sort((a, b) => a - b);
  const clusters = clusterSeries(shape, random);
  const peakFleetWatts = Math.max(
    ...Array.from({ length: BUCKETS }, (_, b) => clusters.reduce((sum, c) => sum + (c.powerWatts[b] ?? 0), 0)),
  );
  return {
    summary: {
      policy: shape.policy,
      requests: REQUESTS,
      refused,
      refusedByCode: shape.refusedByCode,
      ttftMs: percentilesOf(sortedTtft),
      totalMs: percentilesOf(sortedTotal),
      attainment,
      overallAttainment,
      joulesPer1kTokens: shape.joulesPer1kTokens,
      peakFleetWatts,
      simulatedMs: 3_598_400,
    },
    ttftCdf: cdfOf(sortedTtft, CDF_POINTS),
    totalCdf: cdfOf(sortedTotal, CDF_POINTS),
    series: { bucketMs: BUCKET_MS, clusters },
  };
}

/** A fleet of the example's shape with `fraH100` and `iadH100` H100 nodes (trn2 and l4 fixed). */
function scaledFleet(fraH100: number, iadH100: number): FleetMix {
  return {
    groups: [
      { cluster: 'fra', profile: 'h100', count: fraH100 },
      { cluster: 'fra', profile: 'trn2', count: 8 },
      { cluster: 'iad', profile: 'h100', count: iadH100 },
      { cluster: 'iad', profile: 'l4', count: 24 },
    ],
    nodes: fraH100 + iadH100 + 32,
    ratedWatts: (fraH100 + iadH100) * 700 + 8 * 500 + 24 * 72,
  };
}

function trial(
  fraH100: number,
  iadH100: number,
  attainment: Record<SloClass, number>,
  peakFleetWatts: number,
  joulesPer1kTokens: number,
): CapacityTrial {
  const overallAttainment =
    (attainment.interactive * BY_CLASS.interactive +
      attainment.standard * BY_CLASS.standard +
      attainment.batch * BY_CLASS.batch) /
    REQUESTS;
  const meetsTarget = Math.min(attainment.interactive, attainment.standard, attainment.batch) >= 0.99;
  return {
    fleet: scaledFleet(fraH100, iadH100),
    overallAttainment,
    attainment,
    peakFleetWatts,
    joulesPer1kTokens,
    meetsTarget,
  };
}

/** A complete, realistic plan: two clusters, five policies, a capacity answer and a calibration. */
export function examplePlanReport(): PlanReport {
  const policies = POLICIES.map((shape, i) => policyRun(shape, 1_000 + i));
  const onFleetFile = policies.find((run) => run.summary.policy === 'switchyard')?.summary;
  if (onFleetFile === undefined) throw new Error('the example plan has no switchyard run');
  // The search starts from the fleet file (the switchyard run above), then bisects the H100 count;
  // the fleet file is near saturation at the hour's peak, so the answer is only a little smaller.
  const trials = [
    trial(
      32,
      28,
      {
        interactive: onFleetFile.attainment.interactive ?? 0,
        standard: onFleetFile.attainment.standard ?? 0,
        batch: onFleetFile.attainment.batch ?? 0,
      },
      onFleetFile.peakFleetWatts,
      onFleetFile.joulesPer1kTokens,
    ),
    trial(16, 14, { interactive: 0.7124, standard: 0.9386, batch: 0.9971 }, 26_020, 318),
    trial(24, 21, { interactive: 0.9318, standard: 0.9874, batch: 1 }, 36_510, 331),
    trial(28, 24, { interactive: 0.9843, standard: 0.9951, batch: 1 }, 41_480, 341),
    trial(30, 26, { interactive: 0.9921, standard: 0.9968, batch: 1 }, 42_690, 348),
    trial(29, 25, { interactive: 0.9889, standard: 0.9962, batch: 1 }, 42_170, 345),
  ];
  const live = { ttftP50Ms: 212, ttftP99Ms: 1_340, meanPowerWatts: 1_420 };
  const simulated = { ttftP50Ms: 198, ttftP99Ms: 1_455, meanPowerWatts: 1_385 };
  const simulatedRequests = REQUESTS * (policies.length + trials.length);
  const wallMs = 9_840;
  return {
    schema: PLAN_REPORT_SCHEMA,
    title: 'Capacity plan: two edge sites, Azure conversation trace (1 h)',
    generatedAt: '2025-06-02T09:30:00.000Z',
    seed: 42,
    targets: TARGETS,
    fleet: {
      source: 'fleets/edge-fra-iad.yaml',
      clusters: CLUSTERS.map((c) => ({ name: c.name, location: c.location, powerBudgetWatts: 25_000 })),
      mix: FLEET,
    },
    workload: {
      source: 'traces/azure-conv-1h.csv',
      requests: REQUESTS,
      spanMs: 3_541_200,
      skippedRows: 3,
      byClass: BY_CLASS,
      byModel: { 'llama-3.1-8b': 8_736, 'llama-3.1-70b': 3_744 },
    },
    policies,
    capacity: {
      policy: 'switchyard',
      targetAttainment: 0.99,
      smallest: trials[4],
      trials,
    },
    calibration: {
      scenario: '4 nodes (2 × h100, 2 × l4), 400 requests over 60 s',
      live,
      simulated,
      relativeError: {
        ttftP50: (simulated.ttftP50Ms - live.ttftP50Ms) / live.ttftP50Ms,
        ttftP99: (simulated.ttftP99Ms - live.ttftP99Ms) / live.ttftP99Ms,
        meanPower: (simulated.meanPowerWatts - live.meanPowerWatts) / live.meanPowerWatts,
      },
    },
    simulator: { wallMs, simulatedRequests, requestsPerWallSecond: simulatedRequests / (wallMs / 1_000) },
  };
}

/**
 * The example with what a renderer must survive: no capacity search, no calibration, no batch
 * requests (batch attainment undefined), a policy that served nothing (NaN percentiles and energy,
 * empty CDFs, idle power, all-zero utilisation) and a bucket with no power figure (NaN).
 */
export function examplePlanReportWithGaps(): PlanReport {
  const base = examplePlanReport();
  const withoutBatch = base.policies.map((run): PolicyRun => ({
    ...run,
    summary: { ...run.summary, attainment: { ...run.summary.attainment, batch: undefined } },
  }));
  const first = withoutBatch[0];
  if (first === undefined) throw new Error('the example plan has no policies');
  const [fra, ...others] = first.series.clusters;
  const gappy: ClusterSeries[] =
    fra === undefined ? [] : [{ ...fra, powerWatts: fra.powerWatts.map((w, i) => (i === 30 ? Number.NaN : w)) }];
  withoutBatch[0] = { ...first, series: { ...first.series, clusters: [...gappy, ...others] } };
  const nan = { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN };
  const servedNothing: PolicyRun = {
    summary: {
      policy: 'refuse-all',
      requests: REQUESTS - BY_CLASS.batch,
      refused: REQUESTS - BY_CLASS.batch,
      refusedByCode: { NO_CAPACITY: REQUESTS - BY_CLASS.batch },
      ttftMs: nan,
      totalMs: nan,
      attainment: { interactive: 0, standard: 0, batch: undefined },
      overallAttainment: 0,
      joulesPer1kTokens: Number.NaN,
      peakFleetWatts: CLUSTERS.reduce((sum, c) => sum + c.idleWatts, 0),
      simulatedMs: 3_541_200,
    },
    ttftCdf: [],
    totalCdf: [],
    series: {
      bucketMs: BUCKET_MS,
      clusters: CLUSTERS.map((c) => ({
        cluster: c.name,
        powerBudgetWatts: 25_000,
        powerWatts: Array.from({ length: BUCKETS }, () => c.idleWatts),
        utilisation: Array.from({ length: BUCKETS }, () => 0),
      })),
    },
  };
  return {
    ...base,
    title: `${base.title}, with gaps`,
    workload: {
      ...base.workload,
      requests: REQUESTS - BY_CLASS.batch,
      skippedRows: 0,
      byClass: { ...BY_CLASS, batch: 0 },
    },
    policies: [...withoutBatch, servedNothing],
    capacity: undefined,
    calibration: undefined,
  };
}
