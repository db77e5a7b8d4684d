import { ProbeError } from '../probe.js';

/** A MIG device as `nvidia-smi -L` lists it under its GPU. */
export interface ListedMigDevice {
  /** The MIG device's number on its GPU (`Device  2:`). */
  readonly index: number;
  /** The GPU instance profile, e.g. `1g.10gb`, `3g.40gb`. */
  readonly profile: string;
  /** `MIG-…`; older drivers printed `MIG-GPU-<gpu uuid>/<gi>/<ci>`. */
  readonly uuid: string;
}

/** A GPU as `nvidia-smi -L` lists it, with the MIG devices listed under it (none when MIG is off). */
export interface ListedNvidiaGpu {
  readonly index: number;
  readonly name: string;
  readonly uuid: string;
  readonly migDevices: readonly ListedMigDevice[];
}

/** `GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)`. A product name never contains "(UUID:". */
const GPU_LINE = /^GPU (\d+): (.+) \(UUID: ([^\s)]+)\)$/;
/** `  MIG 1g.10gb     Device  0: (UUID: MIG-…)`, indented under its GPU, padded with spaces. */
const MIG_LINE = /^MIG (\S+) +Device +(\d+): \(UUID: ([^\s)]+)\)$/;

/** Whether `nvidia-smi -L` output lists at least one GPU (other lines, such as driver warnings, aside). */
export function listsAnyGpu(text: string): boolean {
  return text.split(/\r?\n/).some((line) => GPU_LINE.test(line.trim()));
}

/**
 * Parses `nvidia-smi -L`: a `GPU <n>: <name> (UUID: GPU-…)` line per GPU and, when MIG is on, an
 * indented `MIG <profile> Device <n>: (UUID: MIG-…)` line per MIG device under it. Blank lines are
 * ignored; empty output means no GPUs.
 *
 * @throws ProbeError `PROBE_OUTPUT` for a line that is neither, a MIG device before any GPU, or a
 *   GPU or MIG device number seen twice: the message names the line.
 */
export function parseNvidiaSmiList(text: string): ListedNvidiaGpu[] {
  const gpus: { index: number; name: string; uuid: string; migDevices: ListedMigDevice[] }[] = [];
  for (const [position, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '') continue;
    const malformed = (why: string): ProbeError =>
      new ProbeError('PROBE_OUTPUT', `nvidia-smi -L output line ${position + 1} ${why}: "${line}"`);
    const gpu = GPU_LINE.exec(line);
    if (gpu !== null) {
      const [, indexText = '', name = '', uuid = ''] = gpu;
      const index = Number(indexText);
      if (gpus.some((listed) => listed.index === index)) throw malformed(`repeats GPU ${index}`);
      gpus.push({ index, name, uuid, migDevices: [] });
      continue;
    }
    const mig = MIG_LINE.exec(line);
    if (mig === null) throw malformed('is neither a GPU nor a MIG device');
    const parent = gpus.at(-1);
    if (parent === undefined) throw malformed('lists a MIG device before any GPU');
    const [, profile = '', indexText = '', uuid = ''] = mig;
    const index = Number(indexText);
    if (parent.migDevices.some((device) => device.index === index)) {
      throw malformed(`repeats MIG device ${index} of GPU ${parent.index}`);
    }
    parent.migDevices.push({ index, profile, uuid });
  }
  return gpus;
}
