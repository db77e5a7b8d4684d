import type { InferRequest } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST_LEDGER, RequestLedger, type TrackedRequest } from './request-ledger.js';

function inferRequest(deadlineAfterMs?: number): InferRequest {
  const request: InferRequest = {
    v: 1,
    model: 'llama-3.1-8b',
    inputTokens: 100,
    maxOutputTokens: 10,
    priority: 'normal',
    sloClass: 'interactive',
  };
  return deadlineAfterMs === undefined ? request : { ...request, deadlineAfterMs };
}

/** A request accepted at t = 1000 with a 10 s deadline and placed `attempt` times, the last on node `a`. */
function placed(ledger: RequestLedger, attempt: number, requestId = 'r1'): TrackedRequest {
  const tracked = ledger.accept(requestId, 'acme', inferRequest(10_000), '_INBOX.1', 1_000);
  tracked.attempt = attempt;
  tracked.nodeId = 'a';
  return tracked;
}

describe('RequestLedger accept and finish', () => {
  it('tracks a request with its reply subject, deadline and no placement yet', () => {
    const ledger = new RequestLedger();
    const tracked = ledger.accept('r1', 'acme', inferRequest(2_000), '_INBOX.1', 1_000);
    expect(tracked).toMatchObject({
      requestId: 'r1',
      tenant: 'acme',
      replyTo: ['_INBOX.1'],
      acceptedAtMs: 1_000,
      deadlineAtMs: 3_000,
      attempt: 0,
    });
    expect(tracked.nodeId).toBeUndefined();
    expect(tracked.excludedNodeIds.size).toBe(0);
    expect(ledger.get('r1')).toBe(tracked);
    expect(ledger.size).toBe(1);
  });

  it.each<[name: string, ledger: RequestLedger, deadlineAtMs: number]>([
    ['default config: 5 minutes', new RequestLedger(), 1_000 + 5 * 60_000],
    ['configured default', new RequestLedger({ ...DEFAULT_REQUEST_LEDGER, defaultDeadlineMs: 7_000 }), 8_000],
  ])('gives a request without a deadline the %s', (_name, ledger, deadlineAtMs) => {
    expect(ledger.accept('r1', 'acme', inferRequest(), '_INBOX.1', 1_000).deadlineAtMs).toBe(deadlineAtMs);
  });

  it('honours a zero deadline as given', () => {
    expect(new RequestLedger().accept('r1', 'acme', inferRequest(0), 'x', 1_000).deadlineAtMs).toBe(1_000);
  });

  it('finishes a request once', () => {
    const ledger = new RequestLedger();
    const tracked = ledger.accept('r1', 'acme', inferRequest(), '_INBOX.1', 0);
    ledger.accept('r2', 'acme', inferRequest(), '_INBOX.2', 0);
    expect(ledger.finish('r1')).toBe(tracked);
    expect(ledger.finish('r1')).toBeUndefined();
    expect(ledger.get('r1')).toBeUndefined();
    expect(ledger.all().map((t) => t.requestId)).toEqual(['r2']);
    expect(ledger.size).toBe(1);
  });
});

describe('RequestLedger.onNodeLost', () => {
  it.each<{
    name: string;
    attempt: number;
    nowMs: number;
    maxAttempts?: number;
    kind: 'replace' | 'fail';
    code?: string;
  }>([
    { name: 'first attempt, time left', attempt: 1, nowMs: 2_000, kind: 'replace' },
    { name: 'second of three attempts', attempt: 2, nowMs: 2_000, kind: 'replace' },
    { name: 'attempts used up', attempt: 3, nowMs: 2_000, kind: 'fail', code: 'NODE_LOST' },
    { name: 'one attempt allowed', attempt: 1, nowMs: 2_000, maxAttempts: 1, kind: 'fail', code: 'NODE_LOST' },
    { name: 'deadline reached', attempt: 1, nowMs: 11_000, kind: 'fail', code: 'DEADLINE_EXCEEDED' },
    {
      name: 'deadline passed and attempts used up',
      attempt: 3,
      nowMs: 20_000,
      kind: 'fail',
      code: 'DEADLINE_EXCEEDED',
    },
    { name: 'one millisecond before the deadline', attempt: 1, nowMs: 10_999, kind: 'replace' },
  ])('$name → $kind $code', ({ attempt, nowMs, maxAttempts, kind, code }) => {
    const ledger = new RequestLedger({
      ...DEFAULT_REQUEST_LEDGER,
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });
    const tracked = placed(ledger, attempt);
    const action = ledger.onNodeLost('r1', 'a', nowMs);
    expect(action?.kind).toBe(kind);
    expect(action?.tracked).toBe(tracked);
    expect(action?.kind === 'fail' ? action.code : undefined).toBe(code);
    expect(action?.kind === 'fail' ? action.message : 'node a').toContain('node a');
    // Either way the node is excluded and the request is no longer on it; the caller finishes failures.
    expect(tracked.nodeId).toBeUndefined();
    expect([...tracked.excludedNodeIds]).toEqual(['a']);
    expect(ledger.get('r1')).toBe(tracked);
  });

  it('says how many attempts were used when it gives up', () => {
    const ledger = new RequestLedger();
    placed(ledger, 3);
    const action = ledger.onNodeLost('r1', 'a', 2_000);
    expect(action?.kind === 'fail' && action.message).toMatch(/already used 3 attempts/);
  });

  it('accumulates excluded nodes over re-placements', () => {
    const ledger = new RequestLedger();
    const tracked = placed(ledger, 1);
    ledger.onNodeLost('r1', 'a', 2_000);
    tracked.attempt = 2;
    tracked.nodeId = 'b';
    expect(ledger.onNodeLost('r1', 'b', 2_000)?.kind).toBe('replace');
    expect([...tracked.excludedNodeIds].toSorted()).toEqual(['a', 'b']);
  });

  it.each<[name: string, requestId: string, nodeId: string]>([
    ['unknown request', 'nope', 'a'],
    ['request on another node', 'r1', 'b'],
  ])('ignores an %s and changes nothing', (_name, requestId, nodeId) => {
    const ledger = new RequestLedger();
    const tracked = placed(ledger, 1);
    expect(ledger.onNodeLost(requestId, nodeId, 2_000)).toBeUndefined();
    expect(tracked.nodeId).toBe('a');
    expect(tracked.excludedNodeIds.size).toBe(0);
  });

  it('ignores a finished request', () => {
    const ledger = new RequestLedger();
    placed(ledger, 1);
    ledger.finish('r1');
    expect(ledger.onNodeLost('r1', 'a', 2_000)).toBeUndefined();
  });
});

describe('RequestLedger deadlines', () => {
  it('lists requests whose deadline has passed, the deadline itself included', () => {
    const ledger = new RequestLedger();
    ledger.accept('short', 'acme', inferRequest(1_000), 'x', 0);
    ledger.accept('long', 'acme', inferRequest(5_000), 'x', 0);
    ledger.accept('default', 'acme', inferRequest(), 'x', 0);
    const ids = (nowMs: number) =>
      ledger
        .expired(nowMs)
        .map((t) => t.requestId)
        .toSorted();
    expect(ids(999)).toEqual([]);
    expect(ids(1_000)).toEqual(['short']);
    expect(ids(5_000)).toEqual(['long', 'short']);
    expect(ids(5 * 60_000)).toEqual(['default', 'long', 'short']);
    ledger.finish('short');
    expect(ids(5_000)).toEqual(['long']);
  });

  it.each<[nowMs: number, remainingMs: number]>([
    [0, 3_000],
    [1_000, 2_000],
    [2_999, 1],
    [3_000, 0],
    [10_000, 0],
  ])('at %d ms a 3 s request has %d ms left', (nowMs, remainingMs) => {
    const ledger = new RequestLedger();
    const tracked = ledger.accept('r1', 'acme', inferRequest(3_000), 'x', 0);
    expect(ledger.remainingMs(tracked, nowMs)).toBe(remainingMs);
  });
});
