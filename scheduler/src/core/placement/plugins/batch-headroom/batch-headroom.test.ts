import { describe, expect, it } from 'vitest';
import { addReservations, candidate, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { batchHeadroomScorer } from './batch-headroom.js';

describe('batch-headroom scorer', () => {
  const scorer = batchHeadroomScorer();

  it.each<{ maxBatchSize: number; queueDepth: number; inFlight: number; reservations?: number; score: number }>([
    { maxBatchSize: 64, queueDepth: 0, inFlight: 0, score: 1 },
    { maxBatchSize: 64, queueDepth: 0, inFlight: 16, score: 0.75 },
    { maxBatchSize: 64, queueDepth: 8, inFlight: 24, score: 0.5 },
    { maxBatchSize: 64, queueDepth: 0, inFlight: 0, reservations: 48, score: 0.25 },
    { maxBatchSize: 64, queueDepth: 0, inFlight: 64, score: 0 },
    // Raw value below 0 once a queue forms; the framework clamps it.
    { maxBatchSize: 64, queueDepth: 64, inFlight: 64, score: -1 },
    { maxBatchSize: 1, queueDepth: 0, inFlight: 0, score: 1 },
  ])(
    'batch $maxBatchSize, queue $queueDepth, in flight $inFlight, reserved $reservations → $score',
    ({ maxBatchSize, queueDepth, inFlight, reservations, score }) => {
      const node = nodeRecord({ maxBatchSize, queueDepth, inFlight });
      if (reservations !== undefined) addReservations(node, reservations);
      const request = placementRequest();
      expect(scorer.score(request, candidate(node, request))).toBeCloseTo(score, 12);
    },
  );

  it('is named for configuration', () => {
    expect(scorer.name).toBe('batch-headroom');
  });
});
