/**
 * Keeps a node's last hardware reading fresh for its heartbeats. Heartbeats must not wait on a
 * vendor tool (nvidia-smi can hang for seconds when the driver is wedged), so reads run on their own
 * timer, one at a time, each bounded by the probe's timeout; a heartbeat takes whatever was read
 * last. A failed read keeps the last good figures and marks the node degraded until a read succeeds.
 */
import type { Heartbeat } from '@switchyard/protocol';
import type { BackendStatus } from '../backends/backend.js';
import { type DeviceReading, type HardwareProbe, type HardwareReading, ProbeError } from './probe.js';

export type Telemetry = NonNullable<Heartbeat['telemetry']>;

/** Where a heartbeat's hardware figures come from and how they change the backend's own status. */
export interface TelemetrySource {
  /** The heartbeat's `telemetry` field. */
  field(): Telemetry;
  /** The backend's status with the real hardware's figures in place of the simulated ones. */
  overlay(status: BackendStatus): { readonly status: BackendStatus; readonly utilization: number | undefined };
}

/** The simulated engine is its own hardware: nothing to overlay. */
export const SIMULATED_TELEMETRY: TelemetrySource = {
  field: () => ({ source: 'simulated', devices: 0 }),
  overlay: (status) => ({ status, utilization: undefined }),
};

export interface SamplerLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export class TelemetrySampler implements TelemetrySource {
  private reading: HardwareReading | undefined;
  private failure: ProbeError | undefined;
  private reading$: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probe: HardwareProbe,
    private readonly log: SamplerLogger,
  ) {}

  /** The last good reading, if any. */
  get latest(): HardwareReading | undefined {
    return this.reading;
  }

  /** Set while the probe fails. */
  get error(): ProbeError | undefined {
    return this.failure;
  }

  /** One read now (joins a read already running). Never rejects. */
  sample(): Promise<void> {
    this.reading$ ??= this.readOnce().finally(() => {
      this.reading$ = undefined;
    });
    return this.reading$;
  }

  /**
   * A read that starts after this call: one already in flight may have begun before a change the
   * caller just made (a power limit), so wait it out and read again.
   */
  async sampleAfterNow(): Promise<void> {
    await this.reading$;
    await this.sample();
  }

  /** Reads now and then every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading$;
    await this.probe.close();
  }

  field(): Telemetry {
    return {
      source: this.probe.kind,
      devices: this.reading?.devices.length ?? 0,
      ...(this.failure === undefined
        ? {}
        : { error: { code: this.failure.code, message: this.failure.message.slice(0, 500) } }),
    };
  }

  overlay(status: BackendStatus): { readonly status: BackendStatus; readonly utilization: number | undefined } {
    const devices = this.reading?.devices ?? [];
    if (devices.length === 0) return { status, utilization: undefined };
    const memoryTotal = sumOf(devices, (d) => d.memoryTotalBytes);
    const memoryUsed = sumOf(devices, (d) => d.memoryUsedBytes);
    const draw = sumOf(devices, (d) => d.powerDrawWatts);
    const limit = sumOf(devices, (d) => d.powerLimitWatts);
    const temperatures = devices.map((d) => d.temperatureC).filter((t): t is number => t !== undefined);
    const utilizations = devices.map((d) => d.utilization).filter((u): u is number => u !== undefined);
    return {
      status: {
        ...status,
        hbmTotalBytes: memoryTotal ?? status.hbmTotalBytes,
        hbmUsedBytes: memoryUsed ?? status.hbmUsedBytes,
        powerDrawWatts: draw ?? status.powerDrawWatts,
        powerLimitWatts: limit ?? status.powerLimitWatts,
        temperatureC: temperatures.length === 0 ? status.temperatureC : Math.max(...temperatures),
      },
      utilization:
        utilizations.length === 0 ? undefined : utilizations.reduce((a, b) => a + b, 0) / utilizations.length,
    };
  }

  private async readOnce(): Promise<void> {
    try {
      this.reading = await this.probe.read();
      if (this.failure !== undefined) {
        this.log.info({ probe: this.probe.kind, devices: this.reading.devices.length }, 'hardware probe recovered');
      }
      this.failure = undefined;
    } catch (err) {
      const failure =
        err instanceof ProbeError
          ? err
          : new ProbeError('PROBE_FAILED', err instanceof Error ? err.message : String(err));
      // Log a change of trouble, not every failed read of the same one.
      if (this.failure?.code !== failure.code) {
        this.log.warn(
          { probe: this.probe.kind, code: failure.code, err: failure.message },
          'hardware probe failed; node degraded',
        );
      }
      this.failure = failure;
    }
  }
}

/** Sum over the devices that report the figure; undefined when none does (the backend's stands). */
function sumOf(
  devices: readonly DeviceReading[],
  figure: (device: DeviceReading) => number | undefined,
): number | undefined {
  let sum: number | undefined;
  for (const device of devices) {
    const value = figure(device);
    if (value !== undefined) sum = (sum ?? 0) + value;
  }
  return sum;
}
