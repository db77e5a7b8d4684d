import type { Candidate, PlacementRequest, Scorer } from '../../types.js';

/** Parameters of the predicted-latency scorer. */
export interface PredictedLatencyParams {
  /** Predicted time to first token that scores 0.5 (default 1000 ms). */
  readonly halfScoreMs?: number;
}

/** Scores the predicted time to first token (cold start + queue wait + prefill): sooner is better. */
export function predictedLatencyScorer(params: PredictedLatencyParams = {}): Scorer {
  const halfScoreMs = params.halfScoreMs ?? 1000;
  if (!(halfScoreMs > 0)) throw new RangeError(`predicted-latency: halfScoreMs must be > 0, got ${halfScoreMs}`);
  return {
    name: 'predicted-latency',
    score(_request: PlacementRequest, candidate: Candidate): number {
      const { ttftMs, decodeMs } = candidate.estimate();
      // TTFT dominates; completion time breaks ties between equally idle nodes of different speed.
      return 1 / (1 + (ttftMs + decodeMs / 100) / halfScoreMs);
    },
  };
}
