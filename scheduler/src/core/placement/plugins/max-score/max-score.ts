import type { NodeRecord } from '../../../fleet/node-record.js';
import type { Picker, PickerRun, PlacementContext } from '../../types.js';

/** Scores closer than this are ties. */
const TIE_EPSILON = 1e-9;

/** Picks the highest score; ties are broken uniformly at random by the injected RNG (reservoir sampling). */
export function maxScorePicker(): Picker {
  return {
    name: 'max-score',
    begin(context: PlacementContext): PickerRun {
      let best: NodeRecord | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      let ties = 0;
      return {
        offer(node: NodeRecord, score: number): void {
          if (score > bestScore + TIE_EPSILON) {
            best = node;
            bestScore = score;
            ties = 1;
          } else if (score >= bestScore - TIE_EPSILON) {
            ties++;
            if (context.rng() * ties < 1) best = node;
          }
        },
        picked() {
          return best === undefined ? undefined : { node: best, score: bestScore };
        },
      };
    },
  };
}
