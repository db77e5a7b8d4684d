import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { encode } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import {
  type LoadOutcome,
  type OutcomeContext,
  outcomeOfInferReply,
  outcomeOfRequestError,
  outcomeOfTurnReply,
} from './load-outcome.js';
import { breakDown, summarizeOutcomes } from './load-summary.js';

const stateless: OutcomeContext = {
  loadClass: 'interactive',
  model: 'llama-3.1-8b',
  intendedAtMs: 100,
  sendLagMs: 0.5,
};
const turn: OutcomeContext = { ...stateless, loadClass: 'session' };
const timings = { queueMs: 5, loadMs: 0, ttftMs: 40, totalMs: 840 };

const inferResult = encode({
  v: 1,
  ok: true,
  requestId: 'load:1',
  nodeId: 'n-0',
  cluster: 'load-0',
  model: 'llama-3.1-8b',
  inputTokens: 100,
  outputTokens: 80,
  timings,
});
const errorReply = encode({
  v: 1,
  ok: false,
  error: { code: 'OVERLOADED', message: 'full', retryable: true, retryAfterMs: 200 },
});

describe('outcomes from replies', () => {
  it('an answer carries the scheduler hop (e2e less node total) and the client TTFT (e2e less decode)', () => {
    const outcome = outcomeOfInferReply(stateless, 850, inferResult);
    expect(outcome).toMatchObject({ kind: 'answered', code: 'ok', latencyMs: 850, outputTokens: 80 });
    expect(outcome.schedulerHopMs).toBeCloseTo(10);
    // Decode took 840 − 40 = 800 ms of the 850: the first token reached the client after 50.
    expect(outcome.clientTtftMs).toBeCloseTo(50);
    expect(outcome.nodeTimings).toEqual(timings);
  });

  it('a session turn has no scheduler hop (it goes straight to its owner)', () => {
    const result = encode({
      v: 1,
      ok: true,
      sessionId: 's-1',
      turnKey: 'turn-1',
      turn: 1,
      nodeId: 'n-0',
      inputTokens: 100,
      outputTokens: 80,
      contextTokens: 180,
      restoredContextTokens: 0,
      replayed: false,
      timings,
    });
    const outcome = outcomeOfTurnReply(turn, 845, result);
    expect(outcome).toMatchObject({ kind: 'answered', code: 'ok' });
    expect(outcome.schedulerHopMs).toBeUndefined();
    expect(outcome.clientTtftMs).toBeCloseTo(45);
  });

  it('an error reply keeps its wire code; garbage is INVALID_REPLY', () => {
    expect(outcomeOfInferReply(stateless, 3, errorReply)).toMatchObject({ kind: 'error', code: 'OVERLOADED' });
    expect(outcomeOfTurnReply(turn, 3, errorReply)).toMatchObject({ kind: 'error', code: 'OVERLOADED' });
    expect(outcomeOfInferReply(stateless, 3, new TextEncoder().encode('{'))).toMatchObject({
      kind: 'error',
      code: 'INVALID_REPLY',
    });
  });

  it('a request error is a client timeout, no responders, or a client error', () => {
    expect(outcomeOfRequestError(stateless, 30_000, new TimeoutError())).toMatchObject({
      kind: 'timeout',
      code: 'CLIENT_TIMEOUT',
    });
    expect(
      outcomeOfRequestError(stateless, 30_000, new RequestError('timeout', { cause: new TimeoutError() })),
    ).toMatchObject({ kind: 'timeout', code: 'CLIENT_TIMEOUT' });
    expect(
      outcomeOfRequestError(stateless, 1, new RequestError('none', { cause: new NoRespondersError('sy.v1.x') })),
    ).toMatchObject({ kind: 'error', code: 'NO_RESPONDERS' });
    expect(outcomeOfRequestError(stateless, 1, new Error('closed'))).toMatchObject({
      kind: 'error',
      code: 'CLIENT_ERROR',
    });
  });
});

describe('summarizeOutcomes', () => {
  const outcomes: LoadOutcome[] = [
    outcomeOfInferReply(stateless, 850, inferResult),
    outcomeOfInferReply({ ...stateless, loadClass: 'batch' }, 2000, inferResult),
    outcomeOfInferReply(stateless, 3, errorReply),
    outcomeOfRequestError({ ...stateless, loadClass: 'standard' }, 30_000, new TimeoutError()),
    outcomeOfTurnReply(turn, 3, errorReply),
  ];

  it('accounts for every request: answered + errors + timeouts = sent', () => {
    const summary = summarizeOutcomes(outcomes);
    expect(summary.counts).toEqual({ sent: 5, answered: 2, errors: 2, timeouts: 1 });
    expect(summary.errorsByCode).toEqual({ OVERLOADED: 2, CLIENT_TIMEOUT: 1 });
    // Latency percentiles are of answered requests; e2eAll also counts what failed.
    expect(summary.latency.e2e.count).toBe(2);
    expect(summary.latency.e2eAll.count).toBe(5);
    expect(summary.latency.schedulerHop.count).toBe(2);
    expect(summary.latency.sendLag.count).toBe(5);
  });

  it('breaks down by class, keeping session turns out of the stateless figures', () => {
    const { stateless: s, sessions, byClass } = breakDown(outcomes);
    expect(s.counts.sent).toBe(4);
    expect(sessions.counts).toEqual({ sent: 1, answered: 0, errors: 1, timeouts: 0 });
    expect(byClass.interactive.counts).toEqual({ sent: 2, answered: 1, errors: 1, timeouts: 0 });
    expect(byClass.standard.counts.timeouts).toBe(1);
    expect(byClass.batch.latency.e2e.p50Ms).toBeCloseTo(2000, -1);
  });
});
