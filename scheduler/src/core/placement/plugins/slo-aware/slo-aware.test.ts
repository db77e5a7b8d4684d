import type { PowerStage, SloClass } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '../../../fleet/node-record.js';
import { candidate, type NodeSpec, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { ClusterState } from '../../../topology/cluster-state.js';
import type { PlacementRequest } from '../../types.js';
import { MEETS_FLOOR, MISSES_CEILING, type SloAwareParams, sloAwareScorer } from './slo-aware.js';

const MODEL = 'llama-3.1-8b';
const REGION = 'eu';

/** A node as a row describes it: its status, its cluster's power stage and the client's round trip to it. */
interface Setup {
  readonly spec: NodeSpec;
  readonly stage?: PowerStage;
  readonly rttMs?: number;
}

// Reference points (fleet model, 8B, 1000 prompt + 200 output tokens; see estimate.ts):
// h100 × 8 idle with the model loaded: TTFT ≈ 5 ms, completion ≈ 0.9 s, ≈ 1.9 J/token;
// the same node cold: + 6.4 s of weight loading; with 30 sequences decoding: ≈ 0.11 J/token;
// trn1 × 16 with its 64-sequence batch full: TTFT ≈ 90 ms, completion ≈ 3.2 s, ≈ 0.26 J/token.
const H100_IDLE: NodeSpec = { profile: 'h100', loaded: [MODEL] };
const H100_COLD: NodeSpec = { profile: 'h100' };
const H100_BUSY: NodeSpec = { profile: 'h100', loaded: [MODEL], inFlight: 30 };
const H100_DEEP_QUEUE: NodeSpec = { profile: 'h100', loaded: [MODEL], queueDepth: 2_000 };
const L4_IDLE: NodeSpec = { profile: 'l4', loaded: [MODEL] };
const L4_COLD: NodeSpec = { profile: 'l4' };
const TRN1_FULL: NodeSpec = { profile: 'trn1', loaded: [MODEL], inFlight: 64 };

/** Committed draw that puts a 100 kW cluster in each stage (cap: the controller is holding limits down). */
const STAGE_DRAW: Readonly<Record<PowerStage, number>> = { normal: 0, steer: 90_000, defer: 96_000, cap: 0 };

function node({ spec, stage = 'normal', rttMs = 0 }: Setup): NodeRecord {
  const record = nodeRecord(spec);
  const cluster = new ClusterState('c', '', 100_000, 0);
  cluster.measuredWatts = STAGE_DRAW[stage];
  cluster.capping = stage === 'cap';
  cluster.configureLatency(REGION, rttMs);
  expect(cluster.stage).toBe(stage);
  record.clusterState = cluster;
  return record;
}

function request(sloClass: SloClass, extra: { targetMs?: number; maxOutputTokens?: number } = {}): PlacementRequest {
  const base = placementRequest(
    MODEL,
    extra.maxOutputTokens === undefined ? {} : { maxOutputTokens: extra.maxOutputTokens },
  );
  return { ...base, sloClass, region: REGION, targetMs: extra.targetMs };
}

function score(setup: Setup, req: PlacementRequest, params: SloAwareParams = {}): number {
  const record = node(setup);
  return sloAwareScorer(params).score(req, candidate(record, req));
}

describe('slo-aware scorer: tiers', () => {
  const cases: { name: string; req: PlacementRequest; setup: Setup; meets: boolean }[] = [
    { name: 'interactive, warm idle node', req: request('interactive'), setup: { spec: H100_IDLE }, meets: true },
    { name: 'interactive, warm slow node', req: request('interactive'), setup: { spec: L4_IDLE }, meets: true },
    { name: 'interactive, 6.4 s of cold start', req: request('interactive'), setup: { spec: H100_COLD }, meets: false },
    { name: 'interactive, cold slow node', req: request('interactive'), setup: { spec: L4_COLD }, meets: false },
    {
      name: 'interactive, 2,000 prompts queued ahead',
      req: request('interactive'),
      setup: { spec: H100_DEEP_QUEUE },
      meets: false,
    },
    {
      name: 'interactive, 1.5 s round trip from the client',
      req: request('interactive'),
      setup: { spec: H100_IDLE, rttMs: 1_500 },
      meets: false,
    },
    {
      name: 'interactive, own target tighter',
      req: request('interactive', { targetMs: 1 }),
      setup: { spec: H100_IDLE },
      meets: false,
    },
    {
      name: 'interactive, own target looser than the cold start',
      req: request('interactive', { targetMs: 10_000 }),
      setup: { spec: H100_COLD },
      meets: true,
    },
    {
      name: 'interactive, cap stage does not change the tier',
      req: request('interactive'),
      setup: { spec: H100_IDLE, stage: 'cap' },
      meets: true,
    },
    {
      name: 'standard, warm idle node (30 s default)',
      req: request('standard'),
      setup: { spec: H100_IDLE },
      meets: true,
    },
    { name: 'standard, cold slow node (≈ 31 s)', req: request('standard'), setup: { spec: L4_COLD }, meets: false },
    {
      name: 'standard, deadline of 500 ms',
      req: request('standard', { targetMs: 500 }),
      setup: { spec: H100_IDLE },
      meets: false,
    },
    { name: 'batch, cold slow node (1 h default)', req: request('batch'), setup: { spec: L4_COLD }, meets: true },
    {
      name: 'batch, cold node against a 5 s deadline',
      req: request('batch', { targetMs: 5_000 }),
      setup: { spec: H100_COLD },
      meets: false,
    },
    {
      name: 'batch, defer stage does not change the tier',
      req: request('batch'),
      setup: { spec: H100_IDLE, stage: 'defer' },
      meets: true,
    },
  ];

  it.each(cases)('$name → meets: $meets', ({ req, setup, meets }) => {
    const value = score(setup, req);
    const tier =
      value >= MEETS_FLOOR && value <= 1 ? 'meets' : value >= 0 && value <= MISSES_CEILING ? 'misses' : 'out of range';
    expect(tier).toBe(meets ? 'meets' : 'misses');
  });
});

describe('slo-aware scorer: orderings', () => {
  const cases: { name: string; req: PlacementRequest; better: Setup; worse: Setup }[] = [
    {
      name: 'interactive: meeting the SLO in a capped cluster beats missing it in a normal one',
      req: request('interactive'),
      better: { spec: H100_IDLE, stage: 'cap' },
      worse: { spec: H100_COLD },
    },
    {
      name: 'interactive: a partly filled batch costs less energy per token than an idle node',
      req: request('interactive'),
      better: { spec: H100_BUSY },
      worse: { spec: H100_IDLE },
    },
    {
      name: 'interactive: a farther node that still meets the TTFT and costs less wins over a near one',
      req: request('interactive'),
      better: { spec: H100_BUSY, rttMs: 300 },
      worse: { spec: H100_IDLE, rttMs: 0 },
    },
    {
      name: 'interactive: normal beats steer for the same node',
      req: request('interactive'),
      better: { spec: H100_IDLE },
      worse: { spec: H100_IDLE, stage: 'steer' },
    },
    {
      name: 'interactive: steer beats defer',
      req: request('interactive'),
      better: { spec: H100_IDLE, stage: 'steer' },
      worse: { spec: H100_IDLE, stage: 'defer' },
    },
    {
      name: 'interactive: defer beats cap',
      req: request('interactive'),
      better: { spec: H100_IDLE, stage: 'defer' },
      worse: { spec: H100_IDLE, stage: 'cap' },
    },
    {
      name: 'interactive: a cheap node in a steering cluster beats an expensive one in a normal cluster',
      req: request('interactive'),
      better: { spec: H100_BUSY, stage: 'steer' },
      worse: { spec: H100_IDLE },
    },
    {
      name: 'interactive, all missing: the sooner first token wins',
      req: request('interactive'),
      better: { spec: H100_COLD, rttMs: 100 },
      worse: { spec: H100_COLD, rttMs: 500 },
    },
    {
      name: 'interactive, all missing: the fastest wins even if it draws more',
      req: request('interactive'),
      better: { spec: H100_COLD },
      worse: { spec: L4_COLD },
    },
    {
      name: 'standard with a 5 s deadline: both meet it, so 3.2 s at a seventh of the energy beats 0.9 s',
      req: request('standard', { targetMs: 5_000 }),
      better: { spec: TRN1_FULL },
      worse: { spec: H100_IDLE },
    },
    {
      name: 'standard with a 2 s deadline: meeting it in 0.9 s beats missing it at a seventh of the energy',
      req: request('standard', { targetMs: 2_000 }),
      better: { spec: H100_IDLE },
      worse: { spec: TRN1_FULL },
    },
    {
      name: 'standard: a steering cluster’s penalty moves work to a normal one',
      req: request('standard'),
      better: { spec: H100_IDLE },
      worse: { spec: H100_IDLE, stage: 'steer' },
    },
    {
      name: 'batch with the same 5 s deadline: the cheaper node wins, since both meet it',
      req: request('batch', { targetMs: 5_000 }),
      better: { spec: TRN1_FULL },
      worse: { spec: H100_IDLE },
    },
    {
      name: 'batch: a steering cluster’s penalty moves work to a normal one',
      req: request('batch'),
      better: { spec: H100_IDLE },
      worse: { spec: H100_IDLE, stage: 'steer' },
    },
  ];

  it.each(cases)('$name', ({ req, better, worse }) => {
    expect(score(better, req)).toBeGreaterThan(score(worse, req));
  });
});

describe('slo-aware scorer: formula and parameters', () => {
  /** J/token of the request on the setup's node, before the stage penalty. */
  function costPerToken(setup: Setup, req: PlacementRequest): number {
    const record = node(setup);
    return candidate(record, req).estimate().energyJoules / (req.inputTokens + req.maxOutputTokens);
  }

  it('scores 0.8 when the energy cost equals joulesPerTokenRef', () => {
    const req = request('interactive');
    const ref = costPerToken({ spec: H100_IDLE }, req);
    expect(score({ spec: H100_IDLE }, req, { joulesPerTokenRef: ref })).toBeCloseTo(0.8, 12);
  });

  it.each<[PowerStage, number]>([
    ['normal', 1],
    ['steer', 2],
    ['defer', 4],
    ['cap', 8],
  ])('multiplies the cost in a %s cluster by %d', (stage, multiplier) => {
    const req = request('interactive');
    const ref = costPerToken({ spec: H100_IDLE }, req);
    const expected = MEETS_FLOOR + (1 - MEETS_FLOOR) / (1 + multiplier);
    expect(score({ spec: H100_IDLE, stage }, req, { joulesPerTokenRef: ref })).toBeCloseTo(expected, 12);
  });

  it.each<[number, PowerStage, number]>([
    [1, 'cap', 1],
    [3, 'steer', 3],
    [3, 'defer', 9],
  ])('with steerPenalty %d multiplies the cost in a %s cluster by %d', (steerPenalty, stage, multiplier) => {
    const req = request('interactive');
    const ref = costPerToken({ spec: H100_IDLE }, req);
    const expected = MEETS_FLOOR + (1 - MEETS_FLOOR) / (1 + multiplier);
    expect(score({ spec: H100_IDLE, stage }, req, { joulesPerTokenRef: ref, steerPenalty })).toBeCloseTo(expected, 12);
  });

  it('scores a miss by 0.4 / (1 + measured / target)', () => {
    const setup = { spec: H100_IDLE };
    const probe = request('interactive');
    const ttftMs = candidate(node(setup), probe).estimate().ttftMs;
    expect(score(setup, request('interactive', { targetMs: ttftMs / 3 }))).toBeCloseTo(0.1, 12);
  });

  it('scores a standard request that meets its target by efficiency alone, however close to the target', () => {
    const setup = { spec: H100_IDLE };
    const probe = request('standard');
    const { totalMs, energyJoules } = candidate(node(setup), probe).estimate();
    const ref = energyJoules / (probe.inputTokens + probe.maxOutputTokens);
    const atTwice = score(setup, request('standard', { targetMs: 2 * totalMs }), { joulesPerTokenRef: ref });
    const atExactly = score(setup, request('standard', { targetMs: totalMs }), { joulesPerTokenRef: ref });
    expect(atTwice).toBeCloseTo(MEETS_FLOOR + (1 - MEETS_FLOOR) * 0.5, 12);
    expect(atExactly).toBe(atTwice);
  });

  it('counts a target met exactly as met', () => {
    const setup = { spec: H100_IDLE };
    const ttftMs = candidate(node(setup), request('interactive')).estimate().ttftMs;
    expect(score(setup, request('interactive', { targetMs: ttftMs }))).toBeGreaterThanOrEqual(MEETS_FLOOR);
  });

  it.each<[keyof SloAwareParams, number, SloClass, Setup]>([
    ['interactiveTtftMs', 10_000, 'interactive', { spec: H100_COLD }],
    ['standardTotalMs', 40_000, 'standard', { spec: L4_COLD }],
  ])('takes %s = %d as the default target', (param, value, sloClass, setup) => {
    expect(score(setup, request(sloClass))).toBeLessThanOrEqual(MISSES_CEILING);
    expect(score(setup, request(sloClass), { [param]: value })).toBeGreaterThanOrEqual(MEETS_FLOOR);
  });

  it('takes batchTotalMs as the batch default target', () => {
    expect(score({ spec: H100_COLD }, request('batch'))).toBeGreaterThanOrEqual(MEETS_FLOOR);
    expect(score({ spec: H100_COLD }, request('batch'), { batchTotalMs: 5_000 })).toBeLessThanOrEqual(MISSES_CEILING);
  });

  it('treats a node without a cluster as normal stage with no network cost', () => {
    const req = request('interactive');
    const bare = nodeRecord(H100_IDLE);
    expect(sloAwareScorer().score(req, candidate(bare, req))).toBeCloseTo(score({ spec: H100_IDLE }, req), 12);
  });

  it.each<[keyof SloAwareParams, number]>([
    ['interactiveTtftMs', 0],
    ['interactiveTtftMs', -1],
    ['standardTotalMs', Number.NaN],
    ['batchTotalMs', Number.POSITIVE_INFINITY],
    ['joulesPerTokenRef', 0],
    ['steerPenalty', 0.5],
    ['steerPenalty', Number.NaN],
  ])('refuses %s = %d', (param, value) => {
    expect(() => sloAwareScorer({ [param]: value })).toThrow(RangeError);
  });

  it('is named, and not indexable (energy per token falls as a batch fills)', () => {
    const scorer = sloAwareScorer();
    expect(scorer.name).toBe('slo-aware');
    expect(scorer.indexable).not.toBe(true);
  });
});
