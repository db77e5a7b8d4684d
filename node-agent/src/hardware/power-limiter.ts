/**
 * Power limits on real hardware. The scheduler's power controller sends one node-wide limit; on
 * NVIDIA GPUs the agent shares it across the cards with `nvidia-smi -pl`. Neuron devices have no
 * power-limit knob: the executing backend sheds concurrency instead (its setPowerLimit), so there
 * is no hardware limiter for them.
 */
import { applyNvidiaPowerLimit } from './nvidia/nvidia-power.js';
import { ProbeError } from './probe.js';
import type { TelemetrySampler } from './telemetry-sampler.js';

/** Sets the node's power limit on its devices; resolves with the node-wide limit now in force. */
export type HardwarePowerLimiter = (nodeLimitWatts: number) => Promise<number>;

export interface NvidiaLimiterOptions {
  readonly binary?: string;
  /** Log the commands and change nothing: the limit in force stays what the GPUs report. */
  readonly dryRun?: boolean;
  readonly timeoutMs?: number;
  readonly log: { info(fields: object, message: string): void };
}

/**
 * Applies limits through nvidia-smi on the GPUs of the sampler's last reading, then reads again so
 * the next heartbeat reports the limits the cards actually took.
 */
export function nvidiaPowerLimiter(sampler: TelemetrySampler, options: NvidiaLimiterOptions): HardwarePowerLimiter {
  return async (nodeLimitWatts) => {
    const devices = sampler.latest?.devices;
    if (devices === undefined || devices.length === 0) {
      throw new ProbeError('PROBE_UNAVAILABLE', 'no GPU reading yet: cannot share a power limit across the cards');
    }
    const result = await applyNvidiaPowerLimit({
      nodeLimitWatts,
      devices,
      ...(options.binary === undefined ? {} : { binary: options.binary }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    if (result.dryRun) {
      options.log.info(
        {
          requestedWatts: nodeLimitWatts,
          plannedWatts: result.plannedWatts,
          commands: result.commands.map((c) => c.join(' ')),
        },
        'power limit dry run: nothing applied',
      );
      return devices.reduce((sum, d) => sum + (d.powerLimitWatts ?? 0), 0);
    }
    await sampler.sampleAfterNow();
    // Cards without a settable range keep their own limit; the node's limit is what every card has now.
    return (sampler.latest?.devices ?? devices).reduce((sum, d) => sum + (d.powerLimitWatts ?? 0), 0);
  };
}
