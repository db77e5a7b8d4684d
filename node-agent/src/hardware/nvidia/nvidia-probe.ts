import { type HardwareProbe, type HardwareReading, ProbeError } from '../probe.js';
import { NVIDIA_SMI_QUERY_ARGS, parseNvidiaSmiCsv } from './nvidia-smi-csv.js';
import { listsAnyGpu } from './nvidia-smi-list.js';
import {
  checkedTimeoutMs,
  DEFAULT_NVIDIA_SMI_BINARY,
  DEFAULT_NVIDIA_SMI_TIMEOUT_MS,
  describeNvidiaSmiFailure,
  runNvidiaSmi,
} from './run-nvidia-smi.js';

/** How an {@link NvidiaSmiProbe} runs the tool. */
export interface NvidiaSmiProbeOptions {
  /** The nvidia-smi executable: a name looked up on PATH (default `nvidia-smi`) or a path. */
  readonly binary?: string;
  /** The longest one read may take before the child is killed (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Wall clock for `readAtMs` (default `Date.now`). */
  readonly clock?: () => number;
}

/**
 * Reads every NVIDIA GPU on the node by running `nvidia-smi --query-gpu=… --format=csv,nounits` once
 * per read (no shell, bounded by a timeout); the header line it prints lets the parser check each
 * column by name. Stateless between reads, so a hung or failed read
 * leaves nothing behind; `close()` kills any run still in flight.
 */
export class NvidiaSmiProbe implements HardwareProbe {
  readonly kind = 'nvidia';
  readonly binary: string;
  readonly timeoutMs: number;
  readonly #clock: () => number;
  readonly #closing = new AbortController();

  constructor(options: NvidiaSmiProbeOptions = {}) {
    this.binary = options.binary ?? DEFAULT_NVIDIA_SMI_BINARY;
    this.timeoutMs = checkedTimeoutMs(options.timeoutMs ?? DEFAULT_NVIDIA_SMI_TIMEOUT_MS);
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * One reading of every GPU. May be called again while a read is in flight (each runs its own
   * child); after `close()` it rejects.
   *
   * @throws ProbeError `PROBE_UNAVAILABLE` (no binary, or the probe is closed), `PROBE_TIMEOUT`,
   *   `PROBE_FAILED` (non-zero exit; the message carries the tool's first line, e.g. "NVIDIA-SMI has
   *   failed because it couldn't communicate with the NVIDIA driver", and its exit status) or
   *   `PROBE_OUTPUT` (output that does not parse).
   */
  async read(): Promise<HardwareReading> {
    // Taken before the run: the tool samples while it runs, so the reading is at least this fresh,
    // and a staleness check errs towards calling it older rather than newer.
    const readAtMs = this.#clock();
    const run = await runNvidiaSmi({
      binary: this.binary,
      args: NVIDIA_SMI_QUERY_ARGS,
      timeoutMs: this.timeoutMs,
      signal: this.#closing.signal,
    });
    if (run.exitCode !== 0) {
      throw new ProbeError('PROBE_FAILED', `${this.binary} could not read the GPUs: ${describeNvidiaSmiFailure(run)}`);
    }
    return { kind: 'nvidia', devices: parseNvidiaSmiCsv(run.stdout), readAtMs };
  }

  /** Kills any read in flight (it rejects with `PROBE_UNAVAILABLE`) and refuses later reads. Idempotent. */
  close(): Promise<void> {
    this.#closing.abort();
    return Promise.resolve();
  }

  /**
   * Whether this node has NVIDIA GPUs to read: `nvidia-smi -L` runs, exits 0 and lists at least one
   * `GPU <n>: <name> (UUID: …)` line. Never rejects: a missing tool, a dead driver, a hang or "No devices were found"
   * all answer false. Used by `--probe auto`. Rejects with RangeError only for a bad `timeoutMs`.
   */
  static async detect(
    binary: string = DEFAULT_NVIDIA_SMI_BINARY,
    timeoutMs: number = DEFAULT_NVIDIA_SMI_TIMEOUT_MS,
  ): Promise<boolean> {
    const boundMs = checkedTimeoutMs(timeoutMs);
    try {
      const run = await runNvidiaSmi({ binary, args: ['-L'], timeoutMs: boundMs });
      return run.exitCode === 0 && listsAnyGpu(run.stdout);
    } catch {
      return false;
    }
  }
}
