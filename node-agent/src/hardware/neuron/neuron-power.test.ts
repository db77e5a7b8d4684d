import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MAX_POWER_SAMPLE_AGE_MS,
  assumedNeuronDeviceMaxWatts,
  neuronPowerDrawWatts,
  neuronPowerUtilizationPath,
  parseNeuronPowerUtilization,
  readNeuronPowerUtilization,
} from './neuron-power.js';

const SYSFS = fileURLToPath(new URL('./fixtures/sysfs', import.meta.url));
/** The fixture files' timestamp, 2026-01-01T00:00:00Z. */
const SAMPLED_AT_MS = 1_767_225_600_000;

describe('parseNeuronPowerUtilization', () => {
  it('reads a valid minute: status, timestamp and min/max/avg percent of max power', () => {
    expect(parseNeuronPowerUtilization('POWER_STATUS_VALID,1767225600,41.25,88.50,62.50\n')).toEqual({
      status: 'POWER_STATUS_VALID',
      sampledAtMs: SAMPLED_AT_MS,
      minPercent: 41.25,
      maxPercent: 88.5,
      avgPercent: 62.5,
    });
  });

  it.each(['POWER_STATUS_NO_DATA', 'POWER_STATUS_INVALID'])('reads the %s status', (status) => {
    expect(parseNeuronPowerUtilization(`${status},1767225600,0.00,0.00,0.00`)?.status).toBe(status);
  });

  it.each([
    ['an empty file', ''],
    ['too few fields', 'POWER_STATUS_VALID,1767225600,41.25,88.50'],
    ['too many fields', 'POWER_STATUS_VALID,1767225600,41.25,88.50,62.50,1'],
    ['an unknown status', 'POWER_STATUS_MAX,1767225600,0.00,0.00,0.00'],
    ['a timestamp that is not a number', 'POWER_STATUS_VALID,yesterday,41.25,88.50,62.50'],
    ['a percent above 100', 'POWER_STATUS_VALID,1767225600,41.25,188.50,62.50'],
    ['a negative percent', 'POWER_STATUS_VALID,1767225600,-1.00,88.50,62.50'],
    ['watts instead of percent', 'POWER_STATUS_VALID,1767225600,41.25 W,88.50 W,62.50 W'],
  ])('gives undefined for %s', (_case, text) => {
    expect(parseNeuronPowerUtilization(text)).toBeUndefined();
  });
});

describe('readNeuronPowerUtilization', () => {
  it('reads neuron<N>/stats/power/utilization under the root', async () => {
    expect(neuronPowerUtilizationPath('/sys/devices/virtual/neuron_device', 3)).toBe(
      '/sys/devices/virtual/neuron_device/neuron3/stats/power/utilization',
    );
    expect((await readNeuronPowerUtilization(SYSFS, 0))?.avgPercent).toBe(62.5);
    expect((await readNeuronPowerUtilization(SYSFS, 1))?.status).toBe('POWER_STATUS_NO_DATA');
  });

  it('gives undefined, not an error, when the file is missing', async () => {
    await expect(readNeuronPowerUtilization(SYSFS, 7)).resolves.toBeUndefined();
    await expect(readNeuronPowerUtilization('/nonexistent/neuron_device', 0)).resolves.toBeUndefined();
  });
});

describe('assumedNeuronDeviceMaxWatts', () => {
  it.each([
    ['trainium2', 500],
    ['Trainium2', 500],
    ['trainium', 250],
    ['trainium1', 250],
    ['inferentia2', 200],
  ])('assumes %s draws at most %d W (fleet-model profile peak)', (deviceType, watts) => {
    expect(assumedNeuronDeviceMaxWatts(deviceType)).toBe(watts);
  });

  it.each([undefined, 'inferentia', 'trainium3', ''])('has no figure for %j', (deviceType) => {
    expect(assumedNeuronDeviceMaxWatts(deviceType)).toBeUndefined();
  });
});

describe('neuronPowerDrawWatts', () => {
  const valid = parseNeuronPowerUtilization('POWER_STATUS_VALID,1767225600,41.25,88.50,62.50')!;
  const now = SAMPLED_AT_MS + 30_000;

  it('converts the minute mean from percent of the assumed maximum to watts', () => {
    expect(neuronPowerDrawWatts(valid, 500, now)).toBe(312.5);
    expect(neuronPowerDrawWatts(valid, 200, now)).toBe(125);
  });

  it('gives undefined without a valid sample or a maximum', () => {
    const noData = parseNeuronPowerUtilization('POWER_STATUS_NO_DATA,1767225600,0.00,0.00,0.00');
    expect(neuronPowerDrawWatts(noData, 500, now)).toBeUndefined();
    expect(neuronPowerDrawWatts(undefined, 500, now)).toBeUndefined();
    expect(neuronPowerDrawWatts(valid, undefined, now)).toBeUndefined();
  });

  it('gives undefined for a sample the driver stopped refreshing', () => {
    expect(neuronPowerDrawWatts(valid, 500, SAMPLED_AT_MS + MAX_POWER_SAMPLE_AGE_MS)).toBe(312.5);
    expect(neuronPowerDrawWatts(valid, 500, SAMPLED_AT_MS + MAX_POWER_SAMPLE_AGE_MS + 1)).toBeUndefined();
  });
});
