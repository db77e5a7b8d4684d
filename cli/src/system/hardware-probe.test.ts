/**
 * The agent process on "real" hardware: `--probe nvidia` against the fake nvidia-smi (the real
 * tool's output and exit codes, node-agent/src/hardware/nvidia/fake-nvidia-smi.mjs), a real
 * nats-server and a scheduler. The scheduler must see the GPUs' figures, a power command must reach
 * the cards through `nvidia-smi -pl`, and a broken driver must leave the node serving but degraded.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode, PowerLimitAck, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import type { ManagedProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, type NatsFixture, startNats, startTestScheduler, waitFor } from './harness.js';
import { requireBuiltCli, singleNodeAgent } from './processes.js';

const FAKE = fileURLToPath(new URL('../../../node-agent/src/hardware/nvidia/fake-nvidia-smi.mjs', import.meta.url));
const H100_FIXTURE = fileURLToPath(
  new URL('../../../node-agent/src/hardware/nvidia/fixtures/h100-sxm-8x.csv', import.meta.url),
);
const scratch = mkdtempSync(join(tmpdir(), 'hardware-probe-'));

function gpuAgent(natsUrl: string, nodeId: string, mode: 'ok' | 'fail'): ManagedProcess {
  return singleNodeAgent(natsUrl, {
    nodeId,
    cluster: 'gpu-1',
    profile: 'h100',
    chips: 8,
    models: 'llama-3.1-8b',
    extraArgs: ['--probe', 'nvidia', '--nvidia-smi', FAKE],
    env: {
      FAKE_NVIDIA_SMI_MODE: mode,
      FAKE_NVIDIA_SMI_FIXTURE: H100_FIXTURE,
      FAKE_NVIDIA_SMI_STATE: join(scratch, `${nodeId}-state.json`),
      FAKE_NVIDIA_SMI_LOG: join(scratch, `${nodeId}-calls.log`),
    },
  });
}

describe('agent on NVIDIA GPUs (--probe nvidia)', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  const agents: ManagedProcess[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    chmodSync(FAKE, 0o755);
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url);
    for (const [nodeId, mode] of [
      ['gpu-ok', 'ok'],
      ['gpu-broken', 'fail'],
    ] as const) {
      const agent = gpuAgent(nats.server.url, nodeId, mode);
      agents.push(agent);
      await agent.ready();
    }
    await waitFor(() => scheduler.fleet.size === 2, 'both GPU nodes to register', 20_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop(5_000)));
    await scheduler?.stop();
    await nats?.close();
  });

  it("reports the GPUs' memory, power and temperature, and says they come from nvidia-smi", () => {
    const node = scheduler.fleet.get('gpu-ok')!;
    // The fixture: 8× H100 80 GB, drawing 3,225.64 W in all, two cards capped at 500 W, hottest 61 °C.
    expect(node.telemetry).toEqual({ source: 'nvidia', devices: 8 });
    expect(node.hbmTotalBytes).toBe(8 * 81_559 * 1024 * 1024);
    expect(node.powerDrawWatts).toBeCloseTo(3_225.64, 1);
    expect(node.powerLimitWatts).toBe(5_200);
    expect(node.temperatureC).toBe(61);
  });

  it('applies a power command to the cards with nvidia-smi -pl and acks what they took', async () => {
    const reply = await nats.client.request(
      subjects.nodePower('gpu-ok'),
      encode({ v: 1, limitWatts: 2_400, reason: 'test cap' }),
      { timeout: 20_000 },
    );
    const ack = decode(PowerLimitAck, reply.data);
    expect(ack.ok && ack.value).toMatchObject({ ok: true, nodeId: 'gpu-ok', appliedWatts: 2_400 });
    const calls = readFileSync(join(scratch, 'gpu-ok-calls.log'), 'utf8');
    for (let gpu = 0; gpu < 8; gpu++) expect(calls).toContain(`"-i","${gpu}","-pl","300"`);
    await waitFor(() => scheduler.fleet.get('gpu-ok')?.powerLimitWatts === 2_400, 'the new limit in a heartbeat');
  }, 30_000);

  it('keeps a node whose driver fails serving, marked degraded with the reason', async () => {
    const node = scheduler.fleet.get('gpu-broken')!;
    expect(node.telemetry).toMatchObject({ source: 'nvidia', devices: 0, error: { code: 'PROBE_FAILED' } });
    expect(node.telemetry?.error?.message).toMatch(/couldn't communicate with the NVIDIA driver/);
    expect(existsSync(join(scratch, 'gpu-broken-calls.log'))).toBe(true);
    expect(node.schedulable).toBe(true);
    const answer = await infer(nats.client, { model: 'llama-3.1-8b', inputTokens: 100, maxOutputTokens: 4 });
    expect(answer.ok).toBe(true);
  }, 30_000);
});
