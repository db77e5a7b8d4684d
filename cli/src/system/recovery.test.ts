import type { AgentHostHandle } from '@switchyard/node-agent';
import { encode, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { h100, infer, type NatsFixture, startNats, startTestAgents, startTestScheduler, waitFor } from './harness.js';

describe('recovery without losing the fleet view', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle | undefined;
  let agents: AgentHostHandle | undefined;

  beforeEach(async () => {
    nats = await startNats();
  });

  afterEach(async () => {
    await agents?.stop(500);
    await scheduler?.stop();
    await nats.close();
    agents = undefined;
    scheduler = undefined;
  });

  it('rebuilds the fleet after a scheduler restart: unknown heartbeats trigger re-registration', async () => {
    scheduler = await startTestScheduler(nats.server.url);
    agents = await startTestAgents(nats.server.url, [h100('r-0'), h100('r-1')]);
    await waitFor(() => scheduler?.fleet.size === 2, 'registration');
    await scheduler.stop();
    scheduler = await startTestScheduler(nats.server.url);
    expect(scheduler.fleet.size).toBe(0);
    await waitFor(() => scheduler?.fleet.size === 2, 'the new scheduler to learn both nodes', 5000);
    expect(scheduler.counters.get('dropped.unknown-node')).toBeGreaterThanOrEqual(1);
    expect(await infer(nats.client, {})).toMatchObject({ ok: true });
  });

  it('rides out a nats-server restart: agents and scheduler reconnect and work flows again', async () => {
    scheduler = await startTestScheduler(nats.server.url);
    agents = await startTestAgents(nats.server.url, [h100('n-0')]);
    await waitFor(() => scheduler?.fleet.size === 1, 'registration');
    await nats.server.restart();
    await waitFor(
      () => !nats.client.isClosed() && scheduler?.fleet.get('n-0')?.liveness === 'alive',
      'reconnect',
      10_000,
    );
    let answer;
    for (let attempt = 0; attempt < 50; attempt++) {
      answer = await infer(nats.client, {}, { timeoutMs: 2000 }).catch(() => undefined);
      if (answer?.ok === true) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer).toMatchObject({ ok: true, nodeId: 'n-0' });
  });

  it('re-places the work of an agent that stops gracefully before its work is done', async () => {
    scheduler = await startTestScheduler(nats.server.url);
    agents = await startTestAgents(nats.server.url, [h100('leaving-0')]);
    const stayer = await startTestAgents(nats.server.url, [h100('staying-0', 'test-1', 9)]);
    try {
      await waitFor(() => scheduler?.fleet.size === 2, 'registration');
      await nats.client.request(subjects.adminNode('cordon'), encode({ v: 1, nodeId: 'staying-0' }), { timeout: 2000 });
      const slow = infer(nats.client, { maxOutputTokens: 300 }, { timeoutMs: 15_000 });
      await waitFor(
        () => (scheduler?.fleet.get('leaving-0')?.reservations.size ?? 0) === 1,
        'work on the leaving node',
      );
      await nats.client.request(subjects.adminNode('uncordon'), encode({ v: 1, nodeId: 'staying-0' }), {
        timeout: 2000,
      });
      await agents.stop(100); // far less than the work needs: it is abandoned and the goodbye hands it back
      agents = undefined;
      expect(await slow).toMatchObject({ ok: true, nodeId: 'staying-0' });
      expect(scheduler.counters.get('requests.replaced')).toBe(1);
      expect(scheduler.fleet.get('leaving-0')).toBeUndefined();
    } finally {
      await stayer.stop(500);
    }
  });

  it('drains a node: no new work goes there, running work finishes there', async () => {
    scheduler = await startTestScheduler(nats.server.url);
    agents = await startTestAgents(nats.server.url, [h100('d-0'), h100('d-1', 'test-1', 3)]);
    await waitFor(() => scheduler?.fleet.size === 2, 'registration');
    await nats.client.request(subjects.adminNode('cordon'), encode({ v: 1, nodeId: 'd-1' }), { timeout: 2000 });
    const running = infer(nats.client, { maxOutputTokens: 300 });
    await waitFor(() => (scheduler?.fleet.get('d-0')?.reservations.size ?? 0) === 1, 'work on d-0');
    await nats.client.request(subjects.adminNode('uncordon'), encode({ v: 1, nodeId: 'd-1' }), { timeout: 2000 });
    await nats.client.request(subjects.adminNode('drain'), encode({ v: 1, nodeId: 'd-0' }), { timeout: 2000 });
    const later = await Promise.all(Array.from({ length: 10 }, () => infer(nats.client, { maxOutputTokens: 4 })));
    expect(later.every((answer) => answer.ok && answer.nodeId === 'd-1')).toBe(true);
    expect(await running).toMatchObject({ ok: true, nodeId: 'd-0' });
  });
});
