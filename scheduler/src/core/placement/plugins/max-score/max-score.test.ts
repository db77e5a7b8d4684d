import { createRng } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '../../../fleet/node-record.js';
import { nodeRecord } from '../../../test-fixtures.js';
import { maxScorePicker } from './max-score.js';

const nodes = new Map<string, NodeRecord>(['a', 'b', 'c', 'd'].map((id) => [id, nodeRecord({ nodeId: id })]));

/** Runs one decision: offers (id, score) pairs in order with a scripted RNG; returns the pick and RNG calls. */
function run(
  offers: [string, number][],
  rngValues: number[] = [],
): { picked: string | undefined; score: number | undefined; rngCalls: number } {
  let rngCalls = 0;
  const rng = (): number => rngValues[rngCalls++] ?? 0.999;
  const picker = maxScorePicker().begin({ nowMs: 0, rng });
  for (const [id, score] of offers) picker.offer(nodes.get(id)!, score);
  const picked = picker.picked();
  return { picked: picked?.node.nodeId, score: picked?.score, rngCalls };
}

describe('max-score picker', () => {
  it.each<{
    name: string;
    offers: [string, number][];
    rng?: number[];
    picked: string | undefined;
    score: number | undefined;
    rngCalls: number;
  }>([
    { name: 'nothing offered', offers: [], picked: undefined, score: undefined, rngCalls: 0 },
    { name: 'one node', offers: [['a', 0.3]], picked: 'a', score: 0.3, rngCalls: 0 },
    {
      name: 'the highest, first',
      offers: [
        ['a', 0.9],
        ['b', 0.5],
        ['c', 0.1],
      ],
      picked: 'a',
      score: 0.9,
      rngCalls: 0,
    },
    {
      name: 'the highest, last',
      offers: [
        ['a', 0.1],
        ['b', 0.5],
        ['c', 0.9],
      ],
      picked: 'c',
      score: 0.9,
      rngCalls: 0,
    },
    {
      name: 'negative scores',
      offers: [
        ['a', -2],
        ['b', -1],
        ['c', -3],
      ],
      picked: 'b',
      score: -1,
      rngCalls: 0,
    },
    { name: 'a single negative score', offers: [['a', -1e9]], picked: 'a', score: -1e9, rngCalls: 0 },
    {
      name: 'zero beats negative',
      offers: [
        ['a', -0.5],
        ['b', 0],
      ],
      picked: 'b',
      score: 0,
      rngCalls: 0,
    },
    {
      name: 'tie, RNG keeps the first (0.6 × 2 ≥ 1)',
      offers: [
        ['a', 0.5],
        ['b', 0.5],
      ],
      rng: [0.6],
      picked: 'a',
      score: 0.5,
      rngCalls: 1,
    },
    {
      name: 'tie, RNG takes the second (0.4 × 2 < 1)',
      offers: [
        ['a', 0.5],
        ['b', 0.5],
      ],
      rng: [0.4],
      picked: 'b',
      score: 0.5,
      rngCalls: 1,
    },
    {
      name: 'three-way tie, third kept only below 1/3',
      offers: [
        ['a', 0.5],
        ['b', 0.5],
        ['c', 0.5],
      ],
      rng: [0.9, 0.3],
      picked: 'c',
      score: 0.5,
      rngCalls: 2,
    },
    {
      name: 'three-way tie, third refused at 1/3',
      offers: [
        ['a', 0.5],
        ['b', 0.5],
        ['c', 0.5],
      ],
      rng: [0.9, 0.34],
      picked: 'a',
      score: 0.5,
      rngCalls: 2,
    },
    {
      name: 'negative tie',
      offers: [
        ['a', -0.5],
        ['b', -0.5],
      ],
      rng: [0.1],
      picked: 'b',
      score: -0.5,
      rngCalls: 1,
    },
    {
      name: 'within 1e-9 is a tie',
      offers: [
        ['a', 0.5],
        ['b', 0.5 + 5e-10],
      ],
      rng: [0.1],
      picked: 'b',
      score: 0.5,
      rngCalls: 1,
    },
    {
      name: 'beyond 1e-9 is not',
      offers: [
        ['a', 0.5],
        ['b', 0.5 + 2e-9],
      ],
      picked: 'b',
      score: 0.5 + 2e-9,
      rngCalls: 0,
    },
    {
      name: 'a higher score resets the ties',
      offers: [
        ['a', 0.5],
        ['b', 0.5],
        ['c', 0.7],
        ['d', 0.7],
      ],
      rng: [0.9, 0.6],
      picked: 'c',
      score: 0.7,
      rngCalls: 2,
    },
  ])('$name', ({ offers, rng, picked, score, rngCalls }) => {
    const result = run(offers, rng);
    expect(result.picked).toBe(picked);
    expect(result.score).toBe(score);
    expect(result.rngCalls).toBe(rngCalls);
  });

  it('picks each of k tied nodes with probability 1/k', () => {
    const rng = createRng(99);
    const picker = maxScorePicker();
    const counts = new Map<string, number>();
    for (let i = 0; i < 9_000; i++) {
      const runOnce = picker.begin({ nowMs: 0, rng });
      for (const id of ['a', 'b', 'c']) runOnce.offer(nodes.get(id)!, 0.42);
      const id = runOnce.picked()!.node.nodeId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c']) {
      expect(counts.get(id)).toBeGreaterThan(2_700);
      expect(counts.get(id)).toBeLessThan(3_300);
    }
  });

  it('starts each run afresh', () => {
    const picker = maxScorePicker();
    const first = picker.begin({ nowMs: 0, rng: () => 0.5 });
    first.offer(nodes.get('a')!, 0.9);
    const second = picker.begin({ nowMs: 0, rng: () => 0.5 });
    second.offer(nodes.get('b')!, 0.1);
    expect(second.picked()?.node.nodeId).toBe('b');
    expect(first.picked()?.node.nodeId).toBe('a');
  });
});
