import { describe, expect, it } from 'vitest';
import { nodeRecord } from '../../../test-fixtures.js';
import type { NodeRecord } from '../../../fleet/node-record.js';
import { randomPicker, roundRobinPicker } from './baseline-pickers.js';

function fleet(n: number): NodeRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const node = nodeRecord({ nodeId: `n${i}` });
    node.index = i;
    return node;
  });
}

describe('random picker', () => {
  it('picks each admitted node about equally often, whatever the scores', () => {
    const nodes = fleet(4);
    let state = 1;
    const rng = (): number => (state = (state * 48_271) % 2_147_483_647) / 2_147_483_647;
    const counts = new Map<string, number>();
    for (let d = 0; d < 8_000; d++) {
      const run = randomPicker().begin({ nowMs: 0, rng });
      nodes.forEach((node, i) => run.offer(node, i / 10));
      const id = run.picked()!.node.nodeId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const node of nodes) expect(counts.get(node.nodeId)).toBeGreaterThan(1_800);
    expect(randomPicker().begin({ nowMs: 0, rng }).picked()).toBeUndefined();
  });
});

describe('round-robin picker', () => {
  it('takes the next admitted node in fleet order each decision and wraps around', () => {
    const nodes = fleet(5);
    const picker = roundRobinPicker();
    const decide = (admitted: readonly number[]): string | undefined => {
      const run = picker.begin({ nowMs: 0, rng: () => 0 });
      for (const i of admitted) run.offer(nodes[i]!, 0.5);
      return run.picked()?.node.nodeId;
    };
    expect([decide([0, 1, 2, 3, 4]), decide([0, 1, 2, 3, 4]), decide([0, 2, 4]), decide([0, 2, 4])]).toEqual([
      'n0',
      'n1',
      'n2',
      'n4',
    ]);
    expect(decide([1, 3])).toBe('n1');
    expect(decide([])).toBeUndefined();
  });
});
