import type { PowerStage, SloClass } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { candidate, type NodeSpec, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { ClusterState, DEFAULT_POWER_THRESHOLDS, type PowerThresholds } from '../../../topology/cluster-state.js';
import { powerBudgetFilter } from './power-budget.js';

const MODEL = 'llama-3.1-8b';
// trn1 × 16 idle with the model loaded: one more sequence raises its decode draw from 400 W idle
// to 0.43 × 250 W × 16 = 1,720 W, a delta of 1,320 W. With its 64-slot batch full, a request only
// queues, and its delta is 0. Held at its minimum limit (16 × 125 W) with 32 sequences running, it
// already draws all the limit allows, so one more adds nothing either.
const IDLE: NodeSpec = { profile: 'trn1', loaded: [MODEL] };
const FULL: NodeSpec = { profile: 'trn1', loaded: [MODEL], inFlight: 64 };
const HELD: NodeSpec = { profile: 'trn1', loaded: [MODEL], inFlight: 32, powerLimitWatts: 2_000 };
const IDLE_DELTA = 1_320;
const BUDGET = 100_000;
/** Defer and cap start above the hard budget: a cluster over its budget can still be in `steer`. */
const LATE_DEFER: PowerThresholds = { steerAt: 0.85, deferAt: 1.5, capAt: 2, releaseAt: 0.85 };

/** A cluster row: its budget (undefined: unbudgeted) and draw; `committed` is set as measured + predicted. */
interface ClusterRow {
  readonly budgetWatts?: number;
  readonly safetyMargin?: number;
  readonly thresholds?: PowerThresholds;
  readonly measuredWatts?: number;
  readonly predictedWatts?: number;
  readonly capping?: boolean;
}

function clusterState(row: ClusterRow): ClusterState {
  const state = new ClusterState(
    'c',
    '',
    row.budgetWatts,
    row.safetyMargin ?? 0,
    row.thresholds ?? DEFAULT_POWER_THRESHOLDS,
  );
  state.measuredWatts = row.measuredWatts ?? 0;
  state.predictedWatts = row.predictedWatts ?? 0;
  state.capping = row.capping ?? false;
  return state;
}

function admits(cluster: ClusterRow | 'none', spec: NodeSpec, sloClass: SloClass): boolean {
  const node = nodeRecord(spec);
  if (cluster !== 'none') node.clusterState = clusterState(cluster);
  const request = { ...placementRequest(MODEL), sloClass };
  return powerBudgetFilter().admits(request, candidate(node, request));
}

describe('power-budget filter', () => {
  it('predicts the deltas the rows below are built on', () => {
    const request = placementRequest(MODEL);
    const delta = (spec: NodeSpec): number => candidate(nodeRecord(spec), request).estimate().powerDeltaWatts;
    expect(delta(IDLE)).toBeCloseTo(IDLE_DELTA, 9);
    expect(delta(FULL)).toBe(0);
    expect(delta(HELD)).toBe(0);
    // It is the limit that holds HELD's delta at 0: unlimited, the same load adds draw.
    const { powerLimitWatts: _, ...unheld } = HELD;
    expect(delta(unheld)).toBeGreaterThan(0);
  });

  const cases: {
    name: string;
    cluster: ClusterRow | 'none';
    /** The stage the row's cluster is in (rows with a cluster only). */
    stage?: PowerStage;
    node?: NodeSpec;
    verdicts: Readonly<Record<SloClass, boolean>>;
  }[] = [
    { name: 'no cluster attached', cluster: 'none', verdicts: { interactive: true, standard: true, batch: true } },
    {
      name: 'unbudgeted cluster, however much it draws',
      cluster: { measuredWatts: 1e12, capping: true },
      stage: 'normal',
      verdicts: { interactive: true, standard: true, batch: true },
    },
    {
      name: 'normal stage, plenty of headroom',
      cluster: { budgetWatts: BUDGET, measuredWatts: 10_000 },
      stage: 'normal',
      verdicts: { interactive: true, standard: true, batch: true },
    },
    {
      name: 'delta lands exactly on the budget',
      cluster: { budgetWatts: 10_000 + IDLE_DELTA, measuredWatts: 10_000 },
      stage: 'steer',
      verdicts: { interactive: true, standard: true, batch: true },
    },
    {
      name: 'delta would pass the budget by 1 W',
      cluster: { budgetWatts: 10_000 + IDLE_DELTA - 1, measuredWatts: 10_000 },
      stage: 'steer',
      verdicts: { interactive: false, standard: false, batch: false },
    },
    {
      name: 'predicted draw of earlier placements counts',
      cluster: { budgetWatts: BUDGET, measuredWatts: 50_000, predictedWatts: BUDGET - 50_000 - IDLE_DELTA + 1 },
      stage: 'defer',
      verdicts: { interactive: false, standard: false, batch: false },
    },
    {
      name: 'the safety margin is not a hard limit: over the usable budget, under the hard one',
      cluster: { budgetWatts: BUDGET, safetyMargin: 0.5, measuredWatts: 0.6 * BUDGET },
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'steer stage with headroom',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.9 * BUDGET },
      stage: 'steer',
      verdicts: { interactive: true, standard: true, batch: true },
    },
    {
      name: 'defer stage with headroom: batch waits, others are only steered',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.96 * BUDGET },
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'defer reached by predictions alone',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.5 * BUDGET, predictedWatts: 0.46 * BUDGET },
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'measured draw over the usable budget without the controller capping is defer',
      cluster: { budgetWatts: BUDGET, safetyMargin: 0.05, measuredWatts: 0.96 * BUDGET },
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'cap stage held by the controller at low draw',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.2 * BUDGET, capping: true },
      stage: 'cap',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'cap stage still holds every class to the budget',
      cluster: { budgetWatts: BUDGET, measuredWatts: BUDGET - IDLE_DELTA + 1, capping: true },
      stage: 'cap',
      verdicts: { interactive: false, standard: false, batch: false },
    },
    {
      name: 'already over budget',
      cluster: { budgetWatts: BUDGET, measuredWatts: BUDGET + 1 },
      stage: 'defer',
      verdicts: { interactive: false, standard: false, batch: false },
    },
    {
      name: 'queued work adds no draw: a full node fits a cluster at its budget',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.7 * BUDGET, predictedWatts: 0.3 * BUDGET },
      node: FULL,
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'queued work adds no draw: a full node is admitted to a cluster over its budget (batch deferred)',
      cluster: { budgetWatts: BUDGET, measuredWatts: BUDGET + 1 },
      node: FULL,
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'queued work adds no draw: predictions alone put the cluster far over its budget',
      cluster: { budgetWatts: BUDGET, measuredWatts: 0.5 * BUDGET, predictedWatts: 2 * BUDGET },
      node: FULL,
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'a node held at its limit adds no draw: admitted to a cluster over its budget (batch deferred)',
      cluster: { budgetWatts: BUDGET, measuredWatts: 1.2 * BUDGET },
      node: HELD,
      stage: 'defer',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'a cluster being capped over its budget still serves interactive work that adds no draw',
      cluster: { budgetWatts: BUDGET, measuredWatts: 1.2 * BUDGET, capping: true },
      node: HELD,
      stage: 'cap',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'no draw added over the budget while capping, full node',
      cluster: { budgetWatts: BUDGET, measuredWatts: BUDGET + 1, capping: true },
      node: FULL,
      stage: 'cap',
      verdicts: { interactive: true, standard: true, batch: false },
    },
    {
      name: 'no draw added over the budget in the steer stage: batch is admitted too',
      cluster: { budgetWatts: BUDGET, thresholds: LATE_DEFER, measuredWatts: 1.2 * BUDGET },
      node: FULL,
      stage: 'steer',
      verdicts: { interactive: true, standard: true, batch: true },
    },
    {
      name: 'the same steer-stage cluster over its budget refuses work that adds draw',
      cluster: { budgetWatts: BUDGET, thresholds: LATE_DEFER, measuredWatts: 1.2 * BUDGET },
      stage: 'steer',
      verdicts: { interactive: false, standard: false, batch: false },
    },
  ];

  describe.each(cases)('$name', ({ cluster, node, verdicts }) => {
    it.each(Object.entries(verdicts) as [SloClass, boolean][])('%s → %s', (sloClass, verdict) => {
      expect(admits(cluster, node ?? IDLE, sloClass)).toBe(verdict);
    });
  });

  // Every row with a cluster states its stage, so a row cannot silently test a stage it does not name.
  const staged = cases.flatMap(({ name, cluster, stage }) => (cluster === 'none' ? [] : [{ name, cluster, stage }]));
  it.each(staged)('$name: $stage stage', ({ cluster, stage }) => {
    expect(clusterState(cluster).stage).toBe(stage);
  });

  it('rejects with NO_CAPACITY and declares that its verdict depends on load', () => {
    expect(powerBudgetFilter()).toMatchObject({ name: 'power-budget', rejectionCode: 'NO_CAPACITY', scope: 'load' });
  });
});
