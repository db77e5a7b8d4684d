import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assumedNeuronDeviceMaxWatts, neuronPowerDrawWatts, parseNeuronPowerUtilization } from './neuron-power.js';

// The driver's power file read on a real, idle trn1.2xlarge (fixtures/real, source in
// fixtures/SOURCES.md). The published line has no trailing newline; the driver's sysfs callback
// writes one ("%s\n"), so both forms are read.

const idleLine = readFileSync(
  new URL('./fixtures/real/sysfs-power-utilization_trn1-2xlarge-idle_all-smi.txt', import.meta.url),
  'utf8',
);
/** 2026-09-12T02:41:00Z, the minute boundary the driver stamped. */
const SAMPLED_AT_MS = 1_789_180_860_000;

describe('the sysfs power file captured on a real idle trn1.2xlarge', () => {
  it.each([
    ['as published', idleLine],
    ['with the newline the driver writes', `${idleLine}\n`],
  ])('parses %s: a valid minute at 0 % of maximum power', (_case, text) => {
    expect(parseNeuronPowerUtilization(text)).toEqual({
      status: 'POWER_STATUS_VALID',
      sampledAtMs: SAMPLED_AT_MS,
      minPercent: 0,
      maxPercent: 0,
      avgPercent: 0,
    });
  });

  it('gives 0 W above the idle floor on the trn1 the monitor names `trainium`, while the sample is fresh', () => {
    const utilization = parseNeuronPowerUtilization(idleLine);
    const maxWatts = assumedNeuronDeviceMaxWatts('trainium');
    expect(maxWatts).toBe(250);
    // 18 s after the sample, as when it was read.
    expect(neuronPowerDrawWatts(utilization, maxWatts, SAMPLED_AT_MS + 18_000)).toBe(0);
    // Three minutes later the driver should have stamped a newer minute: a stale file gives no reading.
    expect(neuronPowerDrawWatts(utilization, maxWatts, SAMPLED_AT_MS + 181_000)).toBeUndefined();
  });
});
