import type { Candidate, PlacementRequest, Scorer } from '../../types.js';

/** Scores the share of the node's batch slots still free: spreads load before queues form. */
export function batchHeadroomScorer(): Scorer {
  return {
    name: 'batch-headroom',
    indexable: true,
    score(_request: PlacementRequest, { node }: Candidate): number {
      return 1 - node.load / node.maxBatchSize;
    },
  };
}
