import { getModel } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, type SimulatedNodeSpec, startAgentHost, validateNodeSpec } from './agent-host.js';

const spec: SimulatedNodeSpec = {
  nodeId: 'n-1',
  cluster: 'c1',
  zone: 'z1',
  profile: 'h100',
  models: ['llama-3.1-8b'],
  seed: 1,
};

describe('validateNodeSpec: operator power limit', () => {
  it.each([1, 1600, 3000.5, 1e7])('accepts %d W (the backend clamps it into the hardware range)', (watts) => {
    expect(() => validateNodeSpec({ ...spec, powerLimitWatts: watts }, getModel)).not.toThrow();
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, 1e8])('refuses %d W with AgentConfigError', (watts) => {
    expect(() => validateNodeSpec({ ...spec, powerLimitWatts: watts }, getModel)).toThrow(
      new AgentConfigError('node n-1: power limit must be a number of watts in (0, 10000000]'),
    );
  });
});

describe('startAgentHost with a hardware probe', () => {
  it("refuses to host more than one node on one machine's devices, before connecting anywhere", async () => {
    let reads = 0;
    const probe = {
      kind: 'nvidia' as const,
      read: () => {
        reads++;
        return Promise.reject(new Error('not reached'));
      },
      close: () => Promise.resolve(),
    };
    await expect(
      startAgentHost({ natsUrl: 'nats://127.0.0.1:1', nodes: [spec, { ...spec, nodeId: 'n-2' }], probe }),
    ).rejects.toThrow(
      new AgentConfigError("a hardware probe (nvidia) reads this machine's devices: host exactly one node, not 2"),
    );
    expect(reads).toBe(0);
  });
});
