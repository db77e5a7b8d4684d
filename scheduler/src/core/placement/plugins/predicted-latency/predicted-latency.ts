import type { Candidate, PlacementRequest, Scorer } from '../../types.js';

/** Parameters of the predicted-latency scorer. */
export interface PredictedLatencyParams {
  /** Predicted completion time that scores 0.5 (default 2000 ms). */
  readonly halfScoreMs?: number;
}

/**
 * Scores the predicted completion time (cold start + queue wait + prefill + decode): sooner is
 * better. Decode counts in full: an idle slow card that starts at once but streams for twenty
 * seconds loses to a busy fast one that finishes in two.
 */
export function predictedLatencyScorer(params: PredictedLatencyParams = {}): Scorer {
  const halfScoreMs = params.halfScoreMs ?? 2000;
  if (!(halfScoreMs > 0)) throw new RangeError(`predicted-latency: halfScoreMs must be > 0, got ${halfScoreMs}`);
  return {
    name: 'predicted-latency',
    indexable: true,
    estimateMonotone: true,
    score(_request: PlacementRequest, candidate: Candidate): number {
      return 1 / (1 + candidate.estimate().totalMs / halfScoreMs);
    },
  };
}
