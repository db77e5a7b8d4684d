import { describe, expect, it } from 'vitest';
import { addReservations, candidate, nodeRecord, type NodeSpec, placementRequest } from '../../../test-fixtures.js';
import type { Candidate, Estimate } from '../../types.js';
import { predictedLatencyScorer } from './predicted-latency.js';

const request = placementRequest('llama-3.1-8b');

/** A candidate whose estimate is given, to check the formula alone. */
function withEstimate(ttftMs: number, decodeMs: number): Candidate {
  const estimate: Estimate = {
    coldStart: false,
    networkMs: 0,
    loadMs: 0,
    queueWaitMs: 0,
    prefillMs: ttftMs,
    ttftMs,
    decodeMs,
    totalMs: ttftMs + decodeMs,
    energyJoules: 0,
    powerDeltaWatts: 0,
  };
  return { node: nodeRecord(), estimate: () => estimate };
}

function scoreOn(spec: NodeSpec, reservations?: { count: number; predictedServiceMs: number }): number {
  const node = nodeRecord(spec);
  if (reservations !== undefined)
    addReservations(node, reservations.count, { predictedServiceMs: reservations.predictedServiceMs });
  return predictedLatencyScorer().score(request, candidate(node, request));
}

describe('predicted-latency scorer: formula 1 / (1 + total / halfScoreMs)', () => {
  it.each<{ halfScoreMs?: number; ttftMs: number; decodeMs: number; score: number }>([
    { ttftMs: 0, decodeMs: 0, score: 1 },
    { ttftMs: 2000, decodeMs: 0, score: 0.5 }, // default halfScoreMs 2000
    { ttftMs: 0, decodeMs: 2000, score: 0.5 }, // decode counts in full
    { ttftMs: 500, decodeMs: 1500, score: 0.5 },
    { ttftMs: 1000, decodeMs: 5000, score: 0.25 },
    { halfScoreMs: 1000, ttftMs: 1000, decodeMs: 0, score: 0.5 },
    { halfScoreMs: 100, ttftMs: 400, decodeMs: 500, score: 0.1 },
  ])('halfScore $halfScoreMs, ttft $ttftMs, decode $decodeMs → $score', ({ halfScoreMs, ttftMs, decodeMs, score }) => {
    const scorer = predictedLatencyScorer(halfScoreMs === undefined ? {} : { halfScoreMs });
    expect(scorer.score(request, withEstimate(ttftMs, decodeMs))).toBeCloseTo(score, 12);
  });

  it.each([0, -5, Number.NaN])('refuses halfScoreMs %d', (halfScoreMs) => {
    expect(() => predictedLatencyScorer({ halfScoreMs })).toThrow(RangeError);
  });
});

describe('predicted-latency scorer on real profiles', () => {
  it('falls strictly as load grows, through a full batch and into a queue', () => {
    const batch = 256;
    const scores = [0, 1, 8, 64, 255, 256, 300, 512, 1024].map((load) =>
      scoreOn({
        profile: 'l4',
        loaded: ['llama-3.1-8b'],
        maxBatchSize: batch,
        inFlight: Math.min(load, batch),
        queueDepth: Math.max(0, load - batch),
      }),
    );
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThan(scores[i - 1]!);
    for (const score of scores) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });

  it('charges a queue by the predicted service time of the work ahead', () => {
    const spec: NodeSpec = { profile: 'l4', loaded: ['llama-3.1-8b'], maxBatchSize: 4 };
    const shortWork = scoreOn(spec, { count: 12, predictedServiceMs: 100 });
    const longWork = scoreOn(spec, { count: 12, predictedServiceMs: 10_000 });
    expect(longWork).toBeLessThan(shortWork);
  });

  it('counts the prefill queue: reported queue and placements since the last heartbeat', () => {
    const spec: NodeSpec = { profile: 'l4', loaded: ['llama-3.1-8b'], maxBatchSize: 256, inFlight: 4 };
    const quiet = scoreOn(spec);
    const queued = scoreOn({ ...spec, queueDepth: 4, inFlight: 0 });
    const node = nodeRecord(spec);
    addReservations(node, 4);
    node.assumedSinceHeartbeat = 4;
    const placedSince = predictedLatencyScorer().score(request, candidate(node, request));
    expect(queued).toBeLessThan(quiet);
    expect(placedSince).toBeLessThan(quiet);
  });

  it('scores a cold start below a warm node of the same kind', () => {
    expect(scoreOn({ profile: 'h100' })).toBeLessThan(scoreOn({ profile: 'h100', loaded: ['llama-3.1-8b'] }));
    expect(scoreOn({ profile: 'h100', loading: ['llama-3.1-8b'] })).toBeLessThan(
      scoreOn({ profile: 'h100', loaded: ['llama-3.1-8b'] }),
    );
  });

  it('prefers the faster accelerator when both are idle and warm', () => {
    expect(scoreOn({ profile: 'h100', loaded: ['llama-3.1-8b'] })).toBeGreaterThan(
      scoreOn({ profile: 'l4', loaded: ['llama-3.1-8b'] }),
    );
    expect(scoreOn({ profile: 'h200', loaded: ['llama-3.1-8b'] })).toBeGreaterThan(
      scoreOn({ profile: 'h100', loaded: ['llama-3.1-8b'] }),
    );
  });
});
