import type { NodeRecord } from '../../../fleet/node-record.js';
import type { Picker, PickerRun, PlacementContext } from '../../types.js';

/**
 * Any node that passed the filters, uniformly at random (reservoir sampling with the decision's
 * RNG); scores are ignored. A baseline for capacity reports, not a policy to run.
 */
export function randomPicker(): Picker {
  return {
    name: 'random',
    begin(context: PlacementContext): PickerRun {
      let chosen: NodeRecord | undefined;
      let chosenScore = 0;
      let seen = 0;
      return {
        offer(node, score) {
          seen++;
          if (context.rng() * seen < 1) {
            chosen = node;
            chosenScore = score;
          }
        },
        picked: () => (chosen === undefined ? undefined : { node: chosen, score: chosenScore }),
      };
    },
  };
}

/**
 * The node after the last one picked, in fleet order (NodeRecord.index), wrapping around; scores
 * are ignored. Remembers the last pick between decisions, so one instance serves one fleet. A
 * baseline for capacity reports, not a policy to run.
 */
export function roundRobinPicker(): Picker {
  let lastIndex = -1;
  return {
    name: 'round-robin',
    begin(): PickerRun {
      let next: NodeRecord | undefined;
      let first: NodeRecord | undefined;
      let score = 0;
      let firstScore = 0;
      return {
        offer(node, nodeScore) {
          if (first === undefined || node.index < first.index) {
            first = node;
            firstScore = nodeScore;
          }
          if (node.index > lastIndex && (next === undefined || node.index < next.index)) {
            next = node;
            score = nodeScore;
          }
        },
        picked() {
          const node = next ?? first;
          if (node === undefined) return undefined;
          lastIndex = node.index;
          return { node, score: next === undefined ? firstScore : score };
        },
      };
    },
  };
}
