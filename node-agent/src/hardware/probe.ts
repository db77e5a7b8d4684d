/**
 * What an agent reads from its real accelerators, whatever their vendor: one reading per device,
 * with every figure the vendor tool may leave out (`[N/A]`, `[Not Supported]`, a null section)
 * undefined rather than guessed. Probes turn vendor output (nvidia-smi CSV, neuron-monitor JSON,
 * the Neuron driver's sysfs) into these readings; the agent turns readings into heartbeat fields.
 */

/** Which tool a probe reads. */
export type ProbeKind = 'nvidia' | 'neuron';

/** One accelerator device (a GPU, a MIG instance, or a Neuron device) at one moment. */
export interface DeviceReading {
  /** The vendor tool's index of the device on this node. */
  readonly index: number;
  /** Stable identity (GPU UUID, MIG UUID, Neuron device serial or `neuron<N>`). */
  readonly id: string;
  /** Product name as the tool reports it, e.g. `NVIDIA H100 80GB HBM3`, `MIG 1g.10gb`, `Trainium2`. */
  readonly name: string;
  readonly memoryTotalBytes: number | undefined;
  readonly memoryUsedBytes: number | undefined;
  /** Share of time the device computed over the tool's last sample, 0..1. */
  readonly utilization: number | undefined;
  readonly powerDrawWatts: number | undefined;
  /** The power limit in force now. */
  readonly powerLimitWatts: number | undefined;
  /** The range a power limit may be set in; undefined when the device has no limit knob. */
  readonly powerLimitRangeWatts: { readonly min: number; readonly max: number } | undefined;
  readonly temperatureC: number | undefined;
}

/** One read of every device on the node. */
export interface HardwareReading {
  readonly kind: ProbeKind;
  readonly devices: readonly DeviceReading[];
  /** Wall-clock ms when the reading was taken. */
  readonly readAtMs: number;
}

/** Why a probe could not read: the tool is absent, hung, refused, or printed something unreadable. */
export type ProbeErrorCode = 'PROBE_UNAVAILABLE' | 'PROBE_TIMEOUT' | 'PROBE_FAILED' | 'PROBE_OUTPUT';

/** A failed read. The agent keeps running on its last reading and reports itself degraded. */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';

  constructor(
    readonly code: ProbeErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reads a node's accelerators. Implementations bound every read by a timeout and never hang. */
export interface HardwareProbe {
  readonly kind: ProbeKind;
  /** One reading of every device; rejects with ProbeError. */
  read(): Promise<HardwareReading>;
  /** Releases child processes and timers (a streaming probe's monitor process). */
  close(): Promise<void>;
}
