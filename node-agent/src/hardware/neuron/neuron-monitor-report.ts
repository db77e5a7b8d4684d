/**
 * One neuron-monitor report (one JSON document per line of its stdout) read into per-device figures.
 *
 * The format is the Neuron Monitor User Guide's (aws-neuron-sdk, tools/neuron-sys-tools/
 * neuron-monitor-user-guide.rst). What we use:
 * - `neuron_hardware_info`: `neuron_device_type` (`trainium` on trn1, `trainium2`, `inferentia2`),
 *   `neuron_device_count`, `neuron_device_memory_size` (bytes per device) and
 *   `neuroncore_per_device_count`. Older tools give only the two counts (a real trn1 capture from
 *   2022); current ones give all four (a real trn1 capture from 2026; fixtures/SOURCES.md).
 * - `neuron_runtime_data[]`: one entry per Neuron application, each with `report.neuroncore_counters.
 *   neuroncores_in_use[core].neuroncore_utilization` (percent over the period) and `report.memory_used.
 *   neuron_runtime_used_bytes.usage_breakdown.neuroncore_memory_usage[core]` (bytes by category).
 *
 * How cores map to devices: NeuronCore indices are node-wide and numbered device by device, so core
 * `c` sits on device `floor(c / neuroncore_per_device_count)`. On trn2 with logical NeuronCores (LNC=2)
 * both the indices and `neuroncore_per_device_count` count logical cores, so the rule holds there too.
 * Every application lists every core it can see, with 0 % for the cores another application runs on,
 * so a core's figures are summed over applications; a core no application lists is idle.
 *
 * Any metric group may be null, or carry a non-empty `error` string, as may a runtime entry itself
 * (a healthy one carries `"error": ""`).
 * Then the figures it feeds are undefined, for every device: we cannot tell which cores a failed
 * application held. Only a document that is not a report at all is an error (PROBE_OUTPUT).
 */
import { ProbeError } from '../probe.js';

/** `neuron_hardware_info`; each field is undefined when the tool leaves it out. */
export interface NeuronHardwareInfo {
  /** e.g. `trainium2`, `inferentia2`. */
  readonly deviceType: string | undefined;
  readonly deviceCount: number | undefined;
  readonly deviceMemoryBytes: number | undefined;
  /** NeuronCores per device as neuron-monitor numbers them (logical cores on trn2). */
  readonly neuroncoresPerDevice: number | undefined;
}

/** One device's figures from one report. */
export interface NeuronDeviceUsage {
  readonly index: number;
  /** Mean of the device's NeuronCore utilisation, 0..1. */
  readonly utilization: number | undefined;
  /** Device memory the Neuron applications hold on this device, summed over their cores. */
  readonly memoryUsedBytes: number | undefined;
}

/** What the probe takes from one neuron-monitor report. */
export interface NeuronReport {
  /** `instance_info.instance_type`, e.g. `trn2.48xlarge`. */
  readonly instanceType: string | undefined;
  /** Undefined when the section is null or reports an error. */
  readonly hardware: NeuronHardwareInfo | undefined;
  /** One entry per device, 0 .. deviceCount - 1; empty when the device count is unknown. */
  readonly devices: readonly NeuronDeviceUsage[];
}

type JsonObject = Readonly<Record<string, unknown>>;

/** Reads one parsed neuron-monitor document; throws ProbeError('PROBE_OUTPUT') when it is not a report. */
export function parseNeuronMonitorReport(json: unknown): NeuronReport {
  // neuron_hardware_info is present whatever the configuration; neuron_runtime_data is what we asked for.
  if (!isObject(json) || !('neuron_hardware_info' in json || 'neuron_runtime_data' in json)) {
    throw new ProbeError('PROBE_OUTPUT', `not a neuron-monitor report: ${describe(json)}`);
  }
  const hardware = parseHardwareInfo(json['neuron_hardware_info']);
  const runtimes = Array.isArray(json['neuron_runtime_data']) ? json['neuron_runtime_data'] : undefined;
  const utilizationPercentByCore = runtimes === undefined ? undefined : sumOverRuntimes(runtimes, coreUtilization);
  const memoryBytesByCore = runtimes === undefined ? undefined : sumOverRuntimes(runtimes, coreMemoryBytes);
  const instanceInfo = healthySection(json['instance_info']);
  return {
    instanceType: instanceInfo === undefined ? undefined : nonEmptyString(instanceInfo['instance_type']),
    hardware,
    devices: perDevice(hardware, utilizationPercentByCore, memoryBytesByCore),
  };
}

/** Parses one stdout line of neuron-monitor; throws ProbeError('PROBE_OUTPUT') for anything but a report. */
export function parseNeuronMonitorLine(line: string): NeuronReport {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new ProbeError('PROBE_OUTPUT', `neuron-monitor printed a line that is not JSON: ${line.slice(0, 80)}`, {
      cause: err,
    });
  }
  return parseNeuronMonitorReport(json);
}

function parseHardwareInfo(value: unknown): NeuronHardwareInfo | undefined {
  const section = healthySection(value);
  if (section === undefined) return undefined;
  return {
    deviceType: nonEmptyString(section['neuron_device_type']),
    deviceCount: count(section['neuron_device_count'], 0),
    deviceMemoryBytes: count(section['neuron_device_memory_size'], 1),
    neuroncoresPerDevice: count(section['neuroncore_per_device_count'], 1),
  };
}

/** Per-core figures one runtime's report gives, or undefined when its metric group is unusable. */
type CoreFigures = (report: JsonObject) => ReadonlyMap<number, number> | undefined;

/** Sums per-core figures over every runtime; undefined as soon as one runtime's figures are unusable. */
function sumOverRuntimes(runtimes: readonly unknown[], figures: CoreFigures): Map<number, number> | undefined {
  const sums = new Map<number, number>();
  for (const runtime of runtimes) {
    const runtimeEntry = healthySection(runtime);
    const report = runtimeEntry === undefined ? undefined : runtimeEntry['report'];
    if (!isObject(report)) return undefined;
    const perCore = figures(report);
    if (perCore === undefined) return undefined;
    for (const [core, value] of perCore) sums.set(core, (sums.get(core) ?? 0) + value);
  }
  return sums;
}

const coreUtilization: CoreFigures = (report) => {
  const counters = healthySection(report['neuroncore_counters']);
  const inUse = counters === undefined ? undefined : counters['neuroncores_in_use'];
  return perCoreEntries(inUse, (core) => nonNegativeNumber(core['neuroncore_utilization']));
};

const coreMemoryBytes: CoreFigures = (report) => {
  const memory = healthySection(report['memory_used']);
  const used = memory === undefined ? undefined : memory['neuron_runtime_used_bytes'];
  const breakdown = isObject(used) ? used['usage_breakdown'] : undefined;
  const perCore = isObject(breakdown) ? breakdown['neuroncore_memory_usage'] : undefined;
  // Categories differ between releases (constants, model_code, tensors, ...): every one is device memory.
  return perCoreEntries(perCore, (categories) => {
    let bytes = 0;
    for (const value of Object.values(categories)) {
      const categoryBytes = nonNegativeNumber(value);
      if (categoryBytes === undefined) return undefined;
      bytes += categoryBytes;
    }
    return bytes;
  });
};

/** `{"0": {...}, "1": {...}}` keyed by core index, each entry read by `figure`; undefined if any fails. */
function perCoreEntries(
  value: unknown,
  figure: (entry: JsonObject) => number | undefined,
): Map<number, number> | undefined {
  if (!isObject(value)) return undefined;
  const byCore = new Map<number, number>();
  for (const [key, entry] of Object.entries(value)) {
    const core = /^\d+$/.test(key) ? Number(key) : undefined;
    const figureValue = core !== undefined && isObject(entry) ? figure(entry) : undefined;
    if (core === undefined || figureValue === undefined) return undefined;
    byCore.set(core, figureValue);
  }
  return byCore;
}

function perDevice(
  hardware: NeuronHardwareInfo | undefined,
  utilizationPercentByCore: ReadonlyMap<number, number> | undefined,
  memoryBytesByCore: ReadonlyMap<number, number> | undefined,
): NeuronDeviceUsage[] {
  const deviceCount = hardware?.deviceCount;
  if (deviceCount === undefined) return [];
  const cores = hardware?.neuroncoresPerDevice;
  const devices: NeuronDeviceUsage[] = [];
  for (let index = 0; index < deviceCount; index++) {
    let utilization: number | undefined;
    let memoryUsedBytes: number | undefined;
    if (cores !== undefined) {
      const first = index * cores;
      if (utilizationPercentByCore !== undefined) {
        let percentSum = 0;
        // Two applications sharing a core cannot keep it more than fully busy.
        for (let core = first; core < first + cores; core++) {
          percentSum += Math.min(100, utilizationPercentByCore.get(core) ?? 0);
        }
        utilization = percentSum / cores / 100;
      }
      if (memoryBytesByCore !== undefined) {
        memoryUsedBytes = 0;
        for (let core = first; core < first + cores; core++) memoryUsedBytes += memoryBytesByCore.get(core) ?? 0;
      }
    }
    devices.push({ index, utilization, memoryUsedBytes });
  }
  return devices;
}

/** The section's fields, or undefined when it is missing, null, not an object, or reports an error. */
function healthySection(value: unknown): JsonObject | undefined {
  if (!isObject(value)) return undefined;
  const error = value['error'];
  if (typeof error === 'string' && error.trim() !== '') return undefined;
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function nonNegativeNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function count(value: unknown, min: number): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min ? value : undefined;
}

function describe(json: unknown): string {
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  if (typeof json !== 'object') return `a ${typeof json}`;
  const keys = Object.keys(json).slice(0, 5);
  return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.join(', ')}`;
}
