import { getModel } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, type SimulatedNodeSpec, validateNodeSpec } from './agent-host.js';

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
