import type { InferReply } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_DETECTOR, infer, waitFor } from './harness.js';
import { startVictimFleet, type VictimFleet } from './processes.js';

describe('an agent process killed with SIGKILL mid-load', () => {
  let fleet: VictimFleet;

  beforeAll(async () => {
    fleet = await startVictimFleet({ cluster: 'kill-1' });
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it('stops placing on its nodes within the detector timeout, moves its work, and leaves no accepted request unanswered', async () => {
    const victimNodes = ['victim-0', 'victim-1'];
    const outcomes: { sentAtMs: number; answer: InferReply | 'timeout' }[] = [];
    const pending: Promise<void>[] = [];
    const loadMs = 3000;
    const killAfterMs = 1000;
    const startMs = Date.now();
    let killedAtMs = Number.POSITIVE_INFINITY;
    const violations: string[] = [];
    let victimHadWork = false;

    // Watch the scheduler's state: once the detector's suspect timeout has passed since the kill,
    // the victim's nodes must never again be placeable, and once dead they hold no reservations.
    const watch = setInterval(() => {
      const sinceKill = Date.now() - killedAtMs;
      for (const nodeId of victimNodes) {
        const node = fleet.scheduler.fleet.get(nodeId);
        if (node === undefined) continue;
        if (sinceKill < 0 && node.reservations.size > 0) victimHadWork = true;
        if (sinceKill > FAST_DETECTOR.suspectAfterMs + 150 && node.schedulable)
          violations.push(`${nodeId} schedulable ${sinceKill} ms after kill`);
        if (node.liveness === 'dead' && node.reservations.size > 0)
          violations.push(`${nodeId} dead but holds reservations`);
      }
    }, 10);

    setTimeout(() => {
      killedAtMs = Date.now();
      fleet.victim.kill('SIGKILL');
    }, killAfterMs);

    // Open-loop arrivals at ~60 req/s; outputs of 100-400 tokens keep work in flight on every node.
    let i = 0;
    while (Date.now() - startMs < loadMs) {
      const sentAtMs = Date.now();
      const outputTokens = 100 + ((i * 37) % 300);
      pending.push(
        infer(fleet.nats.client, { inputTokens: 200 + i, maxOutputTokens: outputTokens }, { timeoutMs: 15_000 }).then(
          (answer) => void outcomes.push({ sentAtMs, answer }),
          () => void outcomes.push({ sentAtMs, answer: 'timeout' }),
        ),
      );
      i++;
      await new Promise((resolve) => setTimeout(resolve, 16));
    }
    await Promise.all(pending);
    clearInterval(watch);

    expect(victimHadWork).toBe(true);
    expect(await fleet.victim.exited).toBe('SIGKILL');
    // Detection: dead within deadAfterMs (+ sweep period and scheduling slack) of the kill.
    await waitFor(
      () => victimNodes.every((id) => fleet.scheduler.fleet.get(id)?.liveness === 'dead'),
      'victim nodes dead',
      2000,
    );
    expect(violations).toEqual([]);
    // Nothing accepted is lost: every request has an answer, success or a typed error, none timed out.
    expect(outcomes).toHaveLength(pending.length);
    expect(outcomes.filter((o) => o.answer === 'timeout')).toEqual([]);
    const failures = outcomes.flatMap((o) => (o.answer !== 'timeout' && !o.answer.ok ? [o.answer.error.code] : []));
    expect(failures.every((code) => ['NODE_LOST', 'NO_CAPACITY', 'DEADLINE_EXCEEDED'].includes(code))).toBe(true);
    // Work that was running on the victim was re-placed and answered by the fleet.survivor.
    expect(fleet.scheduler.counters.get('requests.replaced')).toBeGreaterThan(0);
    const answeredAfterKill = outcomes.filter(
      (o) => o.answer !== 'timeout' && o.answer.ok && o.sentAtMs > killedAtMs + FAST_DETECTOR.deadAfterMs,
    );
    expect(answeredAfterKill.length).toBeGreaterThan(0);
    expect(
      answeredAfterKill.every((o) => o.answer !== 'timeout' && o.answer.ok && o.answer.nodeId.startsWith('survivor')),
    ).toBe(true);
    await waitFor(() => fleet.scheduler.openRequests() === 0, 'every request to be closed in the ledger', 5000);
  });
});
