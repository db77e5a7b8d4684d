import { type DeviceReading, type ProbeErrorCode, ProbeError } from '../probe.js';
import {
  checkedTimeoutMs,
  DEFAULT_NVIDIA_SMI_BINARY,
  DEFAULT_NVIDIA_SMI_TIMEOUT_MS,
  describeNvidiaSmiFailure,
  type NvidiaSmiRun,
  runNvidiaSmi,
} from './run-nvidia-smi.js';

/** What {@link applyNvidiaPowerLimit} needs. */
export interface NvidiaPowerLimitOptions {
  /** The nvidia-smi executable (default `nvidia-smi` on PATH). */
  readonly binary?: string;
  /** The limit for the whole node, shared across its GPUs. */
  readonly nodeLimitWatts: number;
  /** The node's latest reading: each GPU's index and the range its limit may be set in. */
  readonly devices: readonly DeviceReading[];
  /** Plan and return the commands without running them. */
  readonly dryRun?: boolean;
  /** Bound on each `nvidia-smi -pl` run (default 2000 ms). */
  readonly timeoutMs?: number;
}

/** The limit one GPU gets. */
export interface NvidiaDeviceLimit {
  readonly index: number;
  readonly watts: number;
}

/**
 * Why a GPU was left alone: it reports no limit range (a MIG instance, a card without power
 * management), its range holds no whole number of watts, or nvidia-smi said changing its limit is
 * not supported (laptop GPUs, whose limit the platform sets).
 */
export type NvidiaSkipKind = 'no-range' | 'no-whole-watts' | 'not-supported';

/** A GPU left alone, and why. */
export interface SkippedNvidiaDevice {
  readonly index: number;
  readonly id: string;
  readonly kind: NvidiaSkipKind;
  readonly reason: string;
}

/** One GPU's limit as nvidia-smi reported changing it. */
export interface NvidiaLimitChange {
  /** The PCI bus id nvidia-smi names the GPU by, e.g. `00000000:3B:00.0`. */
  readonly busId: string;
  readonly fromWatts: number;
  readonly toWatts: number;
}

/**
 * What one `nvidia-smi [-i <index>] -pl <watts>` run came to:
 * - `set`: the limit was changed (exit 0); `changes` lists each "Power limit for GPU … was set to
 *   … W from … W." line (one per GPU; empty if a driver words it otherwise);
 * - `not-supported`: the card has no settable limit ("Changing power management limit is not
 *   supported for GPU: …", which nvidia-smi treats as a warning, exiting 0 unless `-eow`);
 * - `out-of-range`: the watts are outside the card's range ("… is not a valid power limit which
 *   should be between 200.00 W and 700.00 W …"); `rangeWatts` is that range when it was given;
 * - `not-permitted`: not root or administrator (exit 4, "Insufficient Permissions");
 * - `failed`: any other non-zero exit (a dead driver, an unknown GPU).
 */
export type NvidiaPowerLimitAnswer =
  | { readonly kind: 'set'; readonly changes: readonly NvidiaLimitChange[] }
  | { readonly kind: 'not-supported' }
  | { readonly kind: 'out-of-range'; readonly rangeWatts: { readonly min: number; readonly max: number } | undefined }
  | { readonly kind: 'not-permitted' }
  | { readonly kind: 'failed' };

/** Exit 4 is nvidia-smi's "The current user does not have permission" status. */
const EXIT_NO_PERMISSION = 4;
const WATTS = String.raw`(\d+(?:\.\d+)?) W`;
const LIMIT_SET_LINE = new RegExp(String.raw`^Power limit for GPU (\S+) was set to ${WATTS} from ${WATTS}\.$`);
const OUT_OF_RANGE = new RegExp(String.raw`is not a valid power limit which should be between ${WATTS} and ${WATTS}`);

/**
 * Reads an `nvidia-smi -pl` run by its exit status and its words (stdout and stderr alike: the tool
 * prints its errors on stdout). A refusal is recognised by its words whatever the status, since
 * older drivers exit differently; without one, a zero exit is a change.
 */
export function classifyNvidiaPowerLimitRun(run: NvidiaSmiRun): NvidiaPowerLimitAnswer {
  const output = `${run.stdout}\n${run.stderr}`;
  if (run.exitCode === EXIT_NO_PERMISSION || /insufficient permissions/i.test(output)) return { kind: 'not-permitted' };
  const range = OUT_OF_RANGE.exec(output);
  if (range !== null) {
    const [, min = '', max = ''] = range;
    return { kind: 'out-of-range', rangeWatts: { min: Number(min), max: Number(max) } };
  }
  if (/not a valid power limit/i.test(output)) return { kind: 'out-of-range', rangeWatts: undefined };
  if (/not supported/i.test(output)) return { kind: 'not-supported' };
  if (run.exitCode !== 0) return { kind: 'failed' };
  const changes: NvidiaLimitChange[] = [];
  for (const line of output.split(/\r?\n/)) {
    const change = LIMIT_SET_LINE.exec(line.trim());
    if (change === null) continue;
    const [, busId = '', toWatts = '', fromWatts = ''] = change;
    changes.push({ busId, fromWatts: Number(fromWatts), toWatts: Number(toWatts) });
  }
  return { kind: 'set', changes };
}

/** What a node-wide limit came to. */
export interface NvidiaPowerLimitResult {
  readonly dryRun: boolean;
  /** The node-wide limit asked for. */
  readonly requestedWatts: number;
  /** Sum of the per-GPU limits planned. */
  readonly plannedWatts: number;
  /** Sum of the limits nvidia-smi confirmed setting; 0 in a dry run. */
  readonly appliedWatts: number;
  /** How far the plan is over the request because GPUs cannot go below their minimum; 0 when it fits. */
  readonly overLimitWatts: number;
  /** Each GPU given a limit (in a dry run, that would be given one), by index. */
  readonly perDevice: readonly NvidiaDeviceLimit[];
  /** The commands, one per GPU in `perDevice`, as argv (binary first). */
  readonly commands: readonly (readonly string[])[];
  /**
   * GPUs with no settable limit: those the reading gives no range for (MIG instances, cards without
   * power management), in the plan already, and those nvidia-smi then said it cannot limit.
   */
  readonly skipped: readonly SkippedNvidiaDevice[];
}

/**
 * A node-wide limit that could not be applied in full. `result` says what was set before the
 * failure (`appliedWatts`, `perDevice`): the GPUs after the failing one were not touched.
 */
export class NvidiaPowerLimitError extends ProbeError {
  /** How nvidia-smi answered the failing GPU; undefined when it did not run to the end. */
  readonly answer: NvidiaPowerLimitAnswer | undefined;

  constructor(
    code: ProbeErrorCode,
    message: string,
    readonly result: NvidiaPowerLimitResult,
    options?: { readonly cause?: unknown; readonly answer?: NvidiaPowerLimitAnswer },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.answer = options?.answer;
  }
}

interface ControllableGpu {
  readonly index: number;
  readonly id: string;
  readonly minWatts: number;
  readonly maxWatts: number;
}

/**
 * Shares `targetWatts` across the GPUs evenly, in whole watts, with each GPU kept inside its range:
 * every GPU starts at its minimum and each further watt goes to the GPU with the lowest limit that
 * can still rise (ties to the lower index). The result is the even share where it fits, clamped
 * where it does not. A GPU whose minimum is above the even share stays at its minimum, so it takes
 * more than its share and the others get correspondingly less; a GPU whose maximum is below the
 * share stops at its maximum and the rest is shared among the others. When the target is below the
 * sum of the minimums every GPU sits at its minimum and the node draws more than it was asked:
 * the caller sees that as `overLimitWatts`, since nvidia-smi can set nothing lower.
 */
function shareEvenly(targetWatts: number, gpus: readonly ControllableGpu[]): number[] {
  const limits = gpus.map((gpu) => gpu.minWatts);
  let spareWatts = targetWatts - limits.reduce((sum, watts) => sum + watts, 0);
  while (spareWatts > 0) {
    let lowest = -1;
    for (const [position, gpu] of gpus.entries()) {
      const limit = limits[position] ?? 0;
      if (limit < gpu.maxWatts && (lowest < 0 || limit < (limits[lowest] ?? 0))) lowest = position;
    }
    if (lowest < 0) break; // every GPU at its maximum: the rest of the target cannot be used
    limits[lowest] = (limits[lowest] ?? 0) + 1;
    spareWatts -= 1;
  }
  return limits;
}

const sumWatts = (limits: readonly NvidiaDeviceLimit[]): number => limits.reduce((sum, limit) => sum + limit.watts, 0);

/**
 * Applies a node-wide power limit to the node's NVIDIA GPUs: shares it evenly across the GPUs that
 * have a limit range (see {@link shareEvenly} for the clamping), then runs
 * `nvidia-smi -i <index> -pl <watts>` once per GPU, in index order, in whole watts as nvidia-smi
 * takes them (see {@link classifyNvidiaPowerLimitRun} for how each answer is read). GPUs without a
 * range are skipped and listed in `skipped`; so is a GPU nvidia-smi says it cannot limit ("not
 * supported"), and the others are still set, as nvidia-smi itself moves on after that warning.
 * Stops at the first GPU that fails otherwise, since a missing permission or a dead driver fails
 * every GPU alike.
 *
 * @throws RangeError when `nodeLimitWatts` is not a positive number.
 * @throws NvidiaPowerLimitError (a ProbeError) `PROBE_FAILED` when nvidia-smi refuses (root or admin
 *   is required, exit 4 "Insufficient Permissions"; watts outside the card's range) or exits
 *   non-zero, with its `answer`; `PROBE_UNAVAILABLE` or `PROBE_TIMEOUT` when it cannot be run or
 *   hangs. The failing GPU is not counted as applied.
 */
export async function applyNvidiaPowerLimit(options: NvidiaPowerLimitOptions): Promise<NvidiaPowerLimitResult> {
  const { nodeLimitWatts, devices, dryRun = false } = options;
  const binary = options.binary ?? DEFAULT_NVIDIA_SMI_BINARY;
  const timeoutMs = checkedTimeoutMs(options.timeoutMs ?? DEFAULT_NVIDIA_SMI_TIMEOUT_MS);
  if (!Number.isFinite(nodeLimitWatts) || nodeLimitWatts <= 0) {
    throw new RangeError(`nodeLimitWatts must be a positive number of watts, got ${nodeLimitWatts}`);
  }

  const controllable: ControllableGpu[] = [];
  const skipped: SkippedNvidiaDevice[] = [];
  for (const device of [...devices].sort((a, b) => a.index - b.index)) {
    const range = device.powerLimitRangeWatts;
    if (range === undefined) {
      skipped.push({
        index: device.index,
        id: device.id,
        kind: 'no-range',
        reason: 'no power limit range reported (a MIG instance, or a card without power management)',
      });
      continue;
    }
    // Whole watts inside the range: round the minimum up and the maximum down.
    const minWatts = Math.ceil(range.min);
    const maxWatts = Math.floor(range.max);
    if (minWatts > maxWatts) {
      skipped.push({
        index: device.index,
        id: device.id,
        kind: 'no-whole-watts',
        reason: `its range ${range.min}..${range.max} W holds no whole number of watts`,
      });
      continue;
    }
    controllable.push({ index: device.index, id: device.id, minWatts, maxWatts });
  }

  const planned = shareEvenly(Math.floor(nodeLimitWatts), controllable);
  const perDevice: NvidiaDeviceLimit[] = controllable.map((gpu, position) => ({
    index: gpu.index,
    watts: planned[position] ?? gpu.minWatts,
  }));
  const commands = perDevice.map(({ index, watts }) => [binary, '-i', String(index), '-pl', String(watts)]);
  const plannedWatts = sumWatts(perDevice);
  const outcome = (applied: readonly NvidiaDeviceLimit[]): NvidiaPowerLimitResult => ({
    dryRun,
    requestedWatts: nodeLimitWatts,
    plannedWatts,
    appliedWatts: dryRun ? 0 : sumWatts(applied),
    overLimitWatts: Math.max(0, plannedWatts - nodeLimitWatts),
    perDevice: dryRun ? perDevice : applied,
    commands,
    skipped,
  });
  if (dryRun) return outcome([]);

  const applied: NvidiaDeviceLimit[] = [];
  for (const [position, limit] of perDevice.entries()) {
    const command = commands[position] ?? [];
    const failure = (
      code: ProbeErrorCode,
      why: string,
      details: { readonly cause?: unknown; readonly answer?: NvidiaPowerLimitAnswer },
    ): NvidiaPowerLimitError => {
      const before =
        applied.length === 0 ? 'no GPU was changed' : `GPUs ${applied.map((done) => done.index).join(', ')} were set`;
      return new NvidiaPowerLimitError(
        code,
        `could not set GPU ${limit.index} to ${limit.watts} W: ${why}; ${before}`,
        outcome(applied),
        details,
      );
    };
    let run;
    try {
      run = await runNvidiaSmi({ binary, args: command.slice(1), timeoutMs });
    } catch (error) {
      if (error instanceof ProbeError) throw failure(error.code, error.message, { cause: error });
      throw error;
    }
    const answer = classifyNvidiaPowerLimitRun(run);
    const said = describeNvidiaSmiFailure(run);
    switch (answer.kind) {
      case 'set':
        applied.push(limit);
        break;
      case 'not-supported':
        // A card without the knob (a laptop GPU) says so per card; the other cards can still be set.
        skipped.push({
          index: limit.index,
          id: controllable[position]?.id ?? '',
          kind: 'not-supported',
          reason: `nvidia-smi says changing its power limit is not supported: ${said}`,
        });
        break;
      case 'not-permitted':
        throw failure(
          'PROBE_FAILED',
          `setting a GPU power limit requires root (or an administrator); nvidia-smi said ${said}`,
          { answer },
        );
      case 'out-of-range':
      case 'failed':
        throw failure('PROBE_FAILED', `nvidia-smi said ${said}`, { answer });
    }
  }
  return outcome(applied);
}
