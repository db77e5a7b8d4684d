/**
 * `--probe auto|nvidia|neuron|simulated`: which tool reads this machine's accelerators. `auto`
 * asks `nvidia-smi -L` first, then `neuron-ls`; a machine with neither runs simulated (the backend
 * reports its own figures). Naming a probe whose tool is missing still starts it: the node comes
 * up degraded and says why, rather than silently reporting simulated figures as real.
 */
import { NeuronMonitorProbe } from './neuron/neuron-probe.js';
import { NvidiaSmiProbe } from './nvidia/nvidia-probe.js';
import type { HardwareProbe } from './probe.js';

export const PROBE_CHOICES = ['auto', 'nvidia', 'neuron', 'simulated'] as const;
export type ProbeChoice = (typeof PROBE_CHOICES)[number];

export interface ProbeTools {
  readonly nvidiaSmi?: string;
  readonly neuronMonitor?: string;
  readonly neuronLs?: string;
}

/** The probe for `choice`, or undefined for simulated (none found by `auto`). */
export async function selectProbe(choice: ProbeChoice, tools: ProbeTools = {}): Promise<HardwareProbe | undefined> {
  const nvidia = (): HardwareProbe =>
    new NvidiaSmiProbe(tools.nvidiaSmi === undefined ? {} : { binary: tools.nvidiaSmi });
  const neuron = (): HardwareProbe =>
    new NeuronMonitorProbe({
      ...(tools.neuronMonitor === undefined ? {} : { monitorBinary: tools.neuronMonitor }),
      ...(tools.neuronLs === undefined ? {} : { lsBinary: tools.neuronLs }),
    });
  switch (choice) {
    case 'simulated':
      return undefined;
    case 'nvidia':
      return nvidia();
    case 'neuron':
      return neuron();
    case 'auto':
      if (await NvidiaSmiProbe.detect(tools.nvidiaSmi)) return nvidia();
      if (await NeuronMonitorProbe.detect(tools.neuronLs)) return neuron();
      return undefined;
    default:
      throw new RangeError(`unknown probe ${JSON.stringify(choice satisfies never)}`);
  }
}
