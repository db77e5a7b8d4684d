/**
 * Neuron device power from the driver's sysfs, in watts by an assumed per-device maximum.
 *
 * The driver writes `/sys/devices/virtual/neuron_device/neuron<N>/stats/power/utilization` (Neuron
 * Sysfs User Guide, aws-neuron-sdk tools/neuron-sys-tools/neuron-sysfs-user-guide.rst) as
 * `<status>,<timestamp>,<min>,<max>,<avg>`: a status of `POWER_STATUS_VALID`, `POWER_STATUS_NO_DATA`
 * or `POWER_STATUS_INVALID`, Unix seconds, then the minimum, maximum and mean power over the last
 * minute as percent of the device's maximum power with two decimals (aws-neuron-driver neuron_power.c
 * formats it `%s,%lld,%u.%02u,%u.%02u,%u.%02u` and the sysfs show callback adds a newline). It is
 * recomputed at each minute boundary. The driver describes the figure as power "with background power
 * backed out": a real idle trn1.2xlarge reads `POWER_STATUS_VALID,1789180860,0.00,0.00,0.00`
 * (fixtures/real), so the watts below are draw above the device's idle floor, not its whole draw.
 *
 * AWS publishes no Trainium or Inferentia power figure, so the maximum the percentages refer to is
 * our assumption: the `peakWattsPerChip` of the matching fleet-model profile (trn1 250 W, trn2 500 W,
 * inf2 200 W; see fleet-model/src/profiles.ts and shared/ACCELERATORS.md, Power). The Trainium2 figure
 * is an unverified analyst estimate; the others are our own. Watts derived here are therefore
 * estimates, good for comparing nodes of one kind and for budgets, not for billing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getProfile } from '@switchyard/fleet-model';

/** Where the Neuron driver puts its per-device sysfs directories. */
export const DEFAULT_NEURON_SYSFS_ROOT = '/sys/devices/virtual/neuron_device';

/** The driver recomputes the figures every minute; older than this, the sampler has stopped. */
export const MAX_POWER_SAMPLE_AGE_MS = 180_000;

/** One `power/utilization` file. */
export interface NeuronPowerUtilization {
  readonly status: 'POWER_STATUS_VALID' | 'POWER_STATUS_NO_DATA' | 'POWER_STATUS_INVALID';
  /** When the driver aggregated the minute, Unix ms. */
  readonly sampledAtMs: number;
  readonly minPercent: number;
  readonly maxPercent: number;
  readonly avgPercent: number;
}

const STATUSES = new Set(['POWER_STATUS_VALID', 'POWER_STATUS_NO_DATA', 'POWER_STATUS_INVALID']);
const PERCENT = /^\d{1,3}(?:\.\d+)?$/;

/** Parses the file's text; undefined when it is not in the documented format. */
export function parseNeuronPowerUtilization(text: string): NeuronPowerUtilization | undefined {
  const fields = text.trim().split(',');
  if (fields.length !== 5) return undefined;
  const [status, timestamp, min, max, avg] = fields as [string, string, string, string, string];
  if (!STATUSES.has(status) || !/^\d+$/.test(timestamp)) return undefined;
  if (![min, max, avg].every((percent) => PERCENT.test(percent) && Number(percent) <= 100)) return undefined;
  return {
    status: status as NeuronPowerUtilization['status'],
    sampledAtMs: Number(timestamp) * 1000,
    minPercent: Number(min),
    maxPercent: Number(max),
    avgPercent: Number(avg),
  };
}

/** The path of device `deviceIndex`'s power utilisation file under `sysfsRoot`. */
export function neuronPowerUtilizationPath(sysfsRoot: string, deviceIndex: number): string {
  return join(sysfsRoot, `neuron${deviceIndex}`, 'stats', 'power', 'utilization');
}

/**
 * Reads device `deviceIndex`'s power utilisation. Undefined, never an error, when the file is
 * missing (drivers before power support), unreadable (the files may be root-only) or malformed:
 * power is one figure among several and the rest of the reading stands without it.
 */
export async function readNeuronPowerUtilization(
  sysfsRoot: string,
  deviceIndex: number,
): Promise<NeuronPowerUtilization | undefined> {
  let text: string;
  try {
    text = await readFile(neuronPowerUtilizationPath(sysfsRoot, deviceIndex), 'utf8');
  } catch {
    return undefined;
  }
  return parseNeuronPowerUtilization(text);
}

/** neuron-monitor's `neuron_device_type` → the fleet-model profile whose peak power we assume. */
const PROFILE_BY_DEVICE_TYPE: Readonly<Record<string, string>> = {
  // `trainium` is what neuron-monitor reports on a trn1 (a real capture, fixtures/real).
  trainium: 'trn1',
  trainium1: 'trn1',
  trainium2: 'trn2',
  inferentia2: 'inf2',
};

/** The maximum power we assume for one device of this type, watts; undefined for a type we have no figure for. */
export function assumedNeuronDeviceMaxWatts(deviceType: string | undefined): number | undefined {
  const profileName = deviceType === undefined ? undefined : PROFILE_BY_DEVICE_TYPE[deviceType.toLowerCase()];
  return profileName === undefined ? undefined : getProfile(profileName)?.peakWattsPerChip;
}

/**
 * Mean draw over the driver's last minute, watts: `avg` percent of the assumed maximum. Undefined
 * when the driver has no valid sample, the sample is older than `maxAgeMs`, or the maximum is unknown.
 */
export function neuronPowerDrawWatts(
  utilization: NeuronPowerUtilization | undefined,
  maxWatts: number | undefined,
  nowMs: number,
  maxAgeMs: number = MAX_POWER_SAMPLE_AGE_MS,
): number | undefined {
  if (utilization === undefined || maxWatts === undefined) return undefined;
  if (utilization.status !== 'POWER_STATUS_VALID' || nowMs - utilization.sampledAtMs > maxAgeMs) return undefined;
  return (utilization.avgPercent / 100) * maxWatts;
}
