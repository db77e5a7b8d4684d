/**
 * `neuron-ls --json-output`: the node's Neuron devices and their identities.
 *
 * The tool prints a JSON array with one object per device, indented by four spaces and with no
 * newline after the closing `]` (real captures in fixtures/real, see fixtures/SOURCES.md). On a
 * trn1.2xlarge (driver 2.26, tools 2.28): `neuron_device` (index, a number), `bdf` (`0000:00:1e.0`),
 * `cpu_affinity`, `numa_node` (a string), `connected_to` (null on a single-device instance, else
 * device indices), `nc_count`, `memory_size` (bytes), `neuroncore_ids` and `neuron_processes`. Newer
 * tools, on trn2, add `instance_type`, `instance_id` and `logical_neuroncore_config` to every entry;
 * with logical NeuronCores (LNC=2) `nc_count` and `neuroncore_ids` count logical cores, 4 per trn2
 * device. It names no device type: that comes from neuron-monitor's `neuron_hardware_info`. On a host
 * without a working driver it prints nothing on stdout, one logfmt `level=fatal` line on stderr, and
 * exits 1.
 */
import { execFile } from 'node:child_process';
import { ProbeError } from '../probe.js';

/** One device as neuron-ls lists it; optional figures are undefined when absent or malformed. */
export interface NeuronLsDevice {
  readonly index: number;
  /** PCI bus/device/function, e.g. `0000:cc:00.0`. */
  readonly bdf: string | undefined;
  readonly memoryBytes: number | undefined;
  /** `nc_count` as the tool reports it: logical NeuronCores where LNC=2 (4 on a trn2 device). */
  readonly neuroncoreCount: number | undefined;
  readonly neuroncoreIds: readonly number[] | undefined;
  /** Devices linked to this one by NeuronLink; empty on a single-device instance. */
  readonly connectedTo: readonly number[];
}

/** Reads neuron-ls's parsed JSON, sorted by index; throws ProbeError('PROBE_OUTPUT') when it is not a device list. */
export function parseNeuronLs(json: unknown): NeuronLsDevice[] {
  // Accept `{ "neuron_devices": [...] }` as well, should a release wrap the list; every capture we know is a bare array.
  const entries =
    typeof json === 'object' && json !== null && !Array.isArray(json) && 'neuron_devices' in json
      ? json.neuron_devices
      : json;
  if (!Array.isArray(entries)) throw new ProbeError('PROBE_OUTPUT', 'neuron-ls --json-output did not print a list');
  const devices = entries.map((entry: unknown, position) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ProbeError('PROBE_OUTPUT', `neuron-ls entry ${position} is not an object`);
    }
    const fields = entry as Readonly<Record<string, unknown>>;
    const index = fields['neuron_device'];
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
      throw new ProbeError('PROBE_OUTPUT', `neuron-ls entry ${position} has no device index (neuron_device)`);
    }
    return {
      index,
      bdf: typeof fields['bdf'] === 'string' && fields['bdf'] !== '' ? fields['bdf'] : undefined,
      memoryBytes: positiveInteger(fields['memory_size']),
      neuroncoreCount: positiveInteger(fields['nc_count']),
      neuroncoreIds: indexList(fields['neuroncore_ids']),
      connectedTo: indexList(fields['connected_to']) ?? [],
    };
  });
  const seen = new Set<number>();
  for (const device of devices) {
    if (seen.has(device.index)) throw new ProbeError('PROBE_OUTPUT', `neuron-ls lists device ${device.index} twice`);
    seen.add(device.index);
  }
  return devices.sort((a, b) => a.index - b.index);
}

/** What running neuron-ls needs. */
export interface NeuronLsRunOptions {
  readonly timeoutMs: number;
  /** Extra environment for the tool. */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/**
 * Runs `<binary> --json-output` once. Rejects with ProbeError: PROBE_UNAVAILABLE when the binary is
 * missing or not executable, PROBE_TIMEOUT past `timeoutMs`, PROBE_FAILED on a non-zero exit (no
 * driver, no devices), PROBE_OUTPUT when it prints something other than a device list.
 */
export function runNeuronLs(binary: string, options: NeuronLsRunOptions): Promise<NeuronLsDevice[]> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      ['--json-output'],
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(neuronLsFailure(binary, error, stderr, options.timeoutMs));
          return;
        }
        try {
          resolve(parseNeuronLs(JSON.parse(stdout)));
        } catch (err) {
          reject(
            err instanceof ProbeError
              ? err
              : new ProbeError('PROBE_OUTPUT', `${binary} --json-output printed something that is not JSON`, {
                  cause: err,
                }),
          );
        }
      },
    );
  });
}

function neuronLsFailure(
  binary: string,
  error: Error & { code?: unknown; killed?: boolean },
  stderr: string,
  timeoutMs: number,
): ProbeError {
  if (error.code === 'ENOENT' || error.code === 'EACCES') {
    return new ProbeError('PROBE_UNAVAILABLE', `${binary} cannot be run (${error.code})`, { cause: error });
  }
  if (error.killed === true) {
    return new ProbeError('PROBE_TIMEOUT', `${binary} --json-output gave no answer within ${timeoutMs} ms`, {
      cause: error,
    });
  }
  const detail = stderr.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
  return new ProbeError('PROBE_FAILED', `${binary} --json-output exited with ${String(error.code)}: ${detail}`, {
    cause: error,
  });
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function indexList(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const indices = value.filter((item): item is number => Number.isSafeInteger(item) && (item as number) >= 0);
  return indices.length === value.length ? indices : undefined;
}
