import { createRng, getModel, getProfile } from '@switchyard/fleet-model';
import {
  type ClusterPower,
  encode,
  type ErrorCode,
  ExplainReply,
  ExplainRequest,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
} from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../core/fleet/failure-detector.js';
import { FleetView } from '../core/fleet/fleet-view.js';
import { buildPlacement } from '../core/placement/registry.js';
import { type NodeSpec, registration } from '../core/test-fixtures.js';
import { Topology, type TopologySpec } from '../core/topology/topology.js';
import { explainPlacement, fleetPower, MAX_REPORTED_PREDICTION, placementEstimate } from './explain.js';

const NOW_MS = 1_000_000;
const H100_IDLE_WATTS = 67 * 8;

/** Two clusters and a client region; cluster-b's budget is set per test. */
function topologySpec(budgetB = 1e9): TopologySpec {
  return {
    clusters: [
      { name: 'cluster-a', location: 'fra', powerBudgetWatts: 1e9 },
      { name: 'cluster-b', location: 'iad', powerBudgetWatts: budgetB, safetyMargin: 0.1 },
    ],
    regions: [{ name: 'eu', latencyMs: { 'cluster-a': 4.04, 'cluster-b': 91.26 } }],
  };
}

/**
 * a (H200) and b (H100) serve the 70B model in cluster-a, e (H100) in cluster-b; c (L4) cannot
 * hold it at all; d is cordoned.
 */
const NODES: NodeSpec[] = [
  { nodeId: 'a', profile: 'h200', cluster: 'cluster-a', loaded: ['llama-3.3-70b'] },
  { nodeId: 'b', profile: 'h100', cluster: 'cluster-a', loaded: ['llama-3.3-70b'] },
  { nodeId: 'c', profile: 'l4', cluster: 'cluster-a' },
  { nodeId: 'd', profile: 'h100', cluster: 'cluster-a', loaded: ['llama-3.3-70b'] },
  { nodeId: 'e', profile: 'h100', cluster: 'cluster-b', loaded: ['llama-3.3-70b'] },
];

function setup(options: { nodes?: readonly NodeSpec[]; topology?: TopologySpec; cordon?: readonly string[] } = {}) {
  const fleet = new FleetView(
    getProfile,
    DEFAULT_FAILURE_DETECTOR,
    undefined,
    new Topology(options.topology ?? topologySpec()),
  );
  for (const spec of options.nodes ?? NODES) {
    const outcome = fleet.register(registration(spec), NOW_MS);
    if (!outcome.ok) throw new Error(outcome.message);
  }
  for (const nodeId of options.cordon ?? ['d']) fleet.setOperatorState(nodeId, 'cordoned');
  const framework = buildPlacement();
  const explain = (body: Record<string, unknown>) =>
    explainPlacement(
      framework,
      fleet,
      getModel,
      ExplainRequest.parse({
        v: PROTOCOL_VERSION,
        model: 'llama-3.3-70b',
        inputTokens: 812,
        maxOutputTokens: 256,
        ...body,
      }),
      NOW_MS,
      createRng(7),
    );
  return { fleet, explain };
}

/** The reply as a peer decodes it: must pass the wire schema and fit in one message. */
function wire(reply: unknown): ExplainReply {
  expect(encode(reply as object).byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  return ExplainReply.parse(reply);
}

describe('explainPlacement', () => {
  it.each<[string, Record<string, unknown>, ErrorCode]>([
    ['a region the topology does not know', { region: 'mars' }, 'UNKNOWN_REGION'],
    ['a model outside the catalogue', { model: 'gpt-17' }, 'UNKNOWN_MODEL'],
    ['an unknown region before an unknown model', { region: 'mars', model: 'gpt-17' }, 'UNKNOWN_REGION'],
  ])('refuses %s', (_label, body, code) => {
    const reply = setup().explain(body);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe(code);
    expect(reply.error.retryable).toBe(false);
  });

  it('names the regions it knows when refusing one', () => {
    const reply = setup().explain({ region: 'mars' });
    expect(reply.ok ? '' : reply.error.message).toMatch(/region mars .*known: eu/);
  });

  it('reports the decision, the pipeline and every candidate, best first, then rejections closest to passing', () => {
    const reply = wire(setup().explain({ candidateLimit: 500 }));
    expect(reply.pipeline).toEqual({
      filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit', 'power-budget'],
      scorers: [{ name: 'slo-aware', weight: 1 }],
      picker: 'max-score',
    });
    expect(reply.candidatesTotal).toBe(5);
    const chosen = reply.decision.ok ? reply.decision.nodeId : undefined;
    expect(reply.candidates[0]?.nodeId).toBe(chosen);
    const survivors = reply.candidates.filter((c) => c.rejectedBy === undefined);
    expect(survivors.map((c) => c.nodeId).sort()).toEqual(['a', 'b', 'e']);
    const totals = survivors.map((c) => c.total ?? -1);
    expect(totals).toEqual([...totals].sort((x, y) => y - x));
    expect(reply.decision.ok && reply.decision.score).toBe(totals[0]);
    expect(reply.candidates.slice(3).map((c) => [c.nodeId, c.rejectedBy])).toEqual([
      ['c', 'model-supported'],
      ['d', 'schedulable'],
    ]);
    for (const survivor of survivors) {
      expect(Object.keys(survivor.scores ?? {})).toEqual(['slo-aware']);
      expect(survivor.estimate?.ttftMs).toBeGreaterThan(0);
    }
    for (const rejected of reply.candidates.slice(3)) expect(rejected.estimate).toBeUndefined();
    expect(reply.candidates.find((c) => c.nodeId === 'e')).toMatchObject({ cluster: 'cluster-b', profile: 'h100' });
  });

  it.each([
    [1, ['chosen']],
    [3, ['chosen', 'survivor', 'survivor']],
    [4, ['chosen', 'survivor', 'survivor', 'c']],
  ])('lists the best %i candidates', (candidateLimit, expected) => {
    const reply = wire(setup().explain({ candidateLimit }));
    const chosen = reply.decision.ok ? reply.decision.nodeId : '';
    expect(reply.candidatesTotal).toBe(5);
    expect(
      reply.candidates.map((c) =>
        c.nodeId === chosen ? 'chosen' : c.rejectedBy === undefined ? 'survivor' : c.nodeId,
      ),
    ).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, 'meets' | 'misses']>([
    ['batch work is judged on its own deadline', { sloClass: 'batch', deadlineAfterMs: 1 }, 'misses'],
    ['standard work is judged on its own deadline', { sloClass: 'standard', deadlineAfterMs: 1 }, 'misses'],
    ['batch work without a deadline gets the class target (1 h)', { sloClass: 'batch' }, 'meets'],
    ['interactive work is judged on TTFT, whatever its deadline', { deadlineAfterMs: 1 }, 'meets'],
  ])('builds the request as the inference path does: %s', (_label, body, verdict) => {
    const reply = wire(setup().explain(body));
    const scores = reply.candidates.flatMap((c) => (c.scores === undefined ? [] : [c.scores['slo-aware'] ?? -1]));
    expect(scores).toHaveLength(3);
    // slo-aware scores work that meets its target in [0.6, 1], work that misses it in [0, 0.4].
    expect(scores.map((value) => (value >= 0.6 ? 'meets' : value <= 0.4 ? 'misses' : value))).toEqual([
      verdict,
      verdict,
      verdict,
    ]);
  });

  it.each([
    [undefined, { a: 0, e: 0 }],
    ['eu', { a: 4, e: 91.3 }],
  ])('adds the round trip from region %s to each cluster', (region, expected) => {
    const reply = wire(setup().explain(region === undefined ? {} : { region }));
    const network = Object.fromEntries(reply.candidates.map((c) => [c.nodeId, c.estimate?.networkMs]));
    expect(network).toMatchObject(expected);
  });

  it('shows the power-budget filter refusing a cluster without headroom, and the budgeted clusters', () => {
    // cluster-b's one node already draws its idle power; one watt more would break the budget.
    const { explain, fleet } = setup({ topology: topologySpec(H100_IDLE_WATTS + 1) });
    const reply = wire(explain({ candidateLimit: 10 }));
    expect(reply.candidates.find((c) => c.nodeId === 'e')?.rejectedBy).toBe('power-budget');
    // Rejected by the last filter: the closest to passing of the rejections.
    expect(reply.candidates[2]?.nodeId).toBe('e');
    expect(reply.power.map((p) => [p.cluster, p.stage])).toEqual([
      ['cluster-a', 'normal'],
      ['cluster-b', 'defer'], // over its usable budget; `cap` only once the controller lowers limits
    ]);
    expect(reply.power).toEqual(fleetPower(fleet.topology));
  });

  it('reports a rejection as the decision when nothing fits, with every node explained', () => {
    const reply = wire(setup({ cordon: ['a', 'b', 'd', 'e'] }).explain({}));
    expect(reply.decision).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
    expect(reply.decision.ok ? '' : reply.decision.message).toMatch(/rejected by schedulable/);
    expect(reply.candidates.map((c) => c.rejectedBy)).toEqual([
      'model-supported',
      'schedulable',
      'schedulable',
      'schedulable',
      'schedulable',
    ]);
  });

  it('answers for an empty fleet', () => {
    const reply = wire(setup({ nodes: [] }).explain({}));
    expect(reply).toMatchObject({ decision: { ok: false, code: 'NO_CAPACITY' }, candidatesTotal: 0, candidates: [] });
  });

  it('places nothing: no reservation, no power committed', () => {
    const { fleet, explain } = setup();
    const before = fleetPower(fleet.topology);
    wire(explain({}));
    expect(fleet.openReservations).toBe(0);
    expect(fleetPower(fleet.topology)).toEqual(before);
  });
});

const manyNodes = (idOf: (i: number) => string, cluster: string): NodeSpec[] =>
  Array.from({ length: 500 }, (_, i) => ({ nodeId: idOf(i), cluster, profile: 'h100', loaded: ['llama-3.1-8b'] }));
const explainMany = (nodes: NodeSpec[], topology: TopologySpec = { clusters: [], regions: [] }) =>
  setup({ nodes, cordon: [], topology }).explain({ model: 'llama-3.1-8b', candidateLimit: 500 });

/** A 128-character cluster name, the longest Name allows. */
const longClusterName = (i: number): string => `edge-${String(i).padStart(4, '0')}-${'x'.repeat(118)}`;
/** A 64-character node id, the longest SubjectToken allows. */
const longNodeId = (i: number): string => `n${String(i).padStart(4, '0')}${'y'.repeat(59)}`;

/** `count` clusters with long names and ample budgets: each adds a ClusterPower entry to every reply. */
const budgetedClusters = (count: number): TopologySpec => ({
  clusters: Array.from({ length: count }, (_, i) => ({
    name: longClusterName(i),
    location: 'x',
    powerBudgetWatts: 1e9,
  })),
  regions: [],
});

describe('a reply with 500 candidates', () => {
  it('lists all of them when names are short', () => {
    const reply = wire(explainMany(manyNodes((i) => `h100-fra1-${String(i).padStart(4, '0')}`, 'edge-fra-1')));
    expect(reply.candidatesTotal).toBe(500);
    expect(reply.candidates).toHaveLength(500);
  });

  it('keeps the best ones that fit in one message when names are as long as the protocol allows', () => {
    // 300 budgeted clusters with 128-character names, nodes with 64-character ids.
    const topology = budgetedClusters(300);
    expect(longClusterName(0)).toHaveLength(128);
    expect(longNodeId(0)).toHaveLength(64);
    const reply = wire(explainMany(manyNodes(longNodeId, longClusterName(0)), topology));
    expect(reply.candidatesTotal).toBe(500);
    expect(reply.power).toHaveLength(300);
    expect(reply.candidates.length).toBeGreaterThan(300);
    expect(reply.candidates.length).toBeLessThan(500);
    // Cut at the last candidate that fits (each is under 600 bytes).
    expect(encode(reply).byteLength).toBeGreaterThan(MAX_MESSAGE_BYTES - 600);
    const totals = reply.candidates.map((c) => c.total ?? -1);
    expect(totals).toEqual([...totals].sort((x, y) => y - x));
    expect(reply.candidates[0]?.nodeId).toBe(reply.decision.ok ? reply.decision.nodeId : undefined);
  });

  it('cuts the cluster list too when even that would not fit (beyond any sane topology)', () => {
    const topology = budgetedClusters(1200);
    const reply = wire(
      explainMany(
        manyNodes((i) => `n${i}`, longClusterName(0)),
        topology,
      ),
    );
    expect(reply.power.length).toBeGreaterThan(800);
    expect(reply.power.length).toBeLessThan(1200);
    expect(reply.power.map((p) => p.cluster)).toEqual(
      Array.from({ length: reply.power.length }, (_, i) => longClusterName(i)),
    );
  });
});

describe('fleetPower', () => {
  it('lists budgeted clusters by name, leaving out clusters seen only through their nodes', () => {
    const { fleet } = setup({
      topology: {
        clusters: [
          { name: 'zeta', location: 'z', powerBudgetWatts: 5000 },
          { name: 'alpha', location: 'a', powerBudgetWatts: 2e6, safetyMargin: 0.2 },
        ],
        regions: [],
      },
      nodes: [
        { nodeId: 'z1', cluster: 'zeta', powerDrawWatts: 4000 },
        { nodeId: 'u1', cluster: 'unconfigured' },
      ],
      cordon: [],
    });
    expect(fleetPower(fleet.topology)).toEqual<ClusterPower[]>([
      { cluster: 'alpha', budgetWatts: 2e6, safetyMargin: 0.2, measuredWatts: 0, committedWatts: 0, stage: 'normal' },
      // 4000 W is 84 % of the usable 4750 W (5 % margin): under the 85 % steer threshold.
      {
        cluster: 'zeta',
        budgetWatts: 5000,
        safetyMargin: 0.05,
        measuredWatts: 4000,
        committedWatts: 4000,
        stage: 'normal',
      },
    ]);
  });
});

describe('placementEstimate', () => {
  const base = {
    coldStart: true,
    networkMs: 4.04,
    loadMs: 12_000.06,
    queueWaitMs: 0,
    prefillMs: 66.249,
    ttftMs: 12_070.35,
    decodeMs: 4000,
    totalMs: 16_070.35,
    energyJoules: 912.44,
    powerDeltaWatts: 38.55,
  };

  it.each([
    ['rounds to tenths', base, { networkMs: 4, loadMs: 12_000.1, prefillMs: 66.2, energyJoules: 912.4 }],
    [
      'clamps negatives to 0',
      { ...base, queueWaitMs: -3, powerDeltaWatts: -0.2 },
      { queueWaitMs: 0, powerDeltaWatts: 0 },
    ],
    [
      'reports unbounded predictions at the ceiling',
      { ...base, ttftMs: Number.POSITIVE_INFINITY, totalMs: Number.NaN, queueWaitMs: 5e15 },
      { ttftMs: MAX_REPORTED_PREDICTION, totalMs: MAX_REPORTED_PREDICTION, queueWaitMs: MAX_REPORTED_PREDICTION },
    ],
  ])('%s', (_label, estimate, expected) => {
    const wireEstimate = placementEstimate(estimate);
    expect(wireEstimate).toMatchObject({ coldStart: true, ...expected });
    expect(wireEstimate).not.toHaveProperty('decodeMs');
    expect(JSON.parse(JSON.stringify(wireEstimate))).toEqual(wireEstimate);
  });
});
