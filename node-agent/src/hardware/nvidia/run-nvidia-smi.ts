import { execFile } from 'node:child_process';
import { ProbeError } from '../probe.js';

/** nvidia-smi's default name; found on PATH where the driver is installed. */
export const DEFAULT_NVIDIA_SMI_BINARY = 'nvidia-smi';
/** nvidia-smi answers in well under a second on a healthy node; 2 s leaves room for a busy one. */
export const DEFAULT_NVIDIA_SMI_TIMEOUT_MS = 2000;

/** A timeout a caller passed in, checked once where it enters (a bad one is a wiring bug, not a probe failure). */
export function checkedTimeoutMs(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`nvidia-smi timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  return timeoutMs;
}

/** How one nvidia-smi run ended, when it ran to the end. */
export interface NvidiaSmiRun {
  /** The exit status; null when a signal we did not send ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One bounded nvidia-smi run. */
export interface RunNvidiaSmiOptions {
  /** The executable, run directly (no shell): a name looked up on PATH, or a path. */
  readonly binary: string;
  readonly args: readonly string[];
  /** After this long the child is killed (SIGKILL) and the run rejects; the caller never waits longer. */
  readonly timeoutMs: number;
  /** Aborting kills the child and rejects the run (a probe being closed). */
  readonly signal?: AbortSignal;
}

/** More than any real query prints (a few hundred bytes per GPU); a flood means something else answered. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * Runs nvidia-smi once. Resolves with the exit status and output however the tool exited, so the
 * caller can tell "no permission" (exit 4) from "no driver" (exit 9); rejects only when there is
 * nothing to judge.
 *
 * @throws ProbeError `PROBE_UNAVAILABLE` when the binary does not exist or cannot be executed, or
 *   when `signal` aborts; `PROBE_TIMEOUT` when it runs past `timeoutMs` (the child is killed, and the
 *   promise settles at once rather than waiting for a child stuck in the driver to die);
 *   `PROBE_OUTPUT` when it prints more than 1 MiB; `PROBE_FAILED` when it cannot be started at all.
 */
export function runNvidiaSmi(options: RunNvidiaSmiOptions): Promise<NvidiaSmiRun> {
  const { binary, args, timeoutMs, signal } = options;
  const commandLine = [binary, ...args].join(' ');
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new ProbeError('PROBE_UNAVAILABLE', `not running "${commandLine}": the probe is closed`));
      return;
    }
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const child = execFile(
      binary,
      [...args],
      { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true },
      (error, stdout, stderr) => {
        settle(() => {
          if (error === null) return resolve({ exitCode: 0, signal: null, stdout, stderr });
          const code = error.code;
          if (typeof code === 'number') return resolve({ exitCode: code, signal: null, stdout, stderr });
          if (code === 'ENOENT' || code === 'EACCES') {
            return reject(
              new ProbeError('PROBE_UNAVAILABLE', `cannot run ${binary} (${code}): is the NVIDIA driver installed?`, {
                cause: error,
              }),
            );
          }
          if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            return reject(
              new ProbeError('PROBE_OUTPUT', `"${commandLine}" printed more than ${MAX_OUTPUT_BYTES} bytes`, {
                cause: error,
              }),
            );
          }
          if (error.signal !== undefined && error.signal !== null) {
            return resolve({ exitCode: null, signal: error.signal, stdout, stderr });
          }
          return reject(
            new ProbeError('PROBE_FAILED', `cannot run "${commandLine}": ${error.message}`, { cause: error }),
          );
        });
      },
    );
    // SIGKILL, not SIGTERM: a tool stuck waiting on the driver may not act on a polite signal.
    const timer = setTimeout(() => {
      settle(() => {
        child.kill('SIGKILL');
        reject(new ProbeError('PROBE_TIMEOUT', `"${commandLine}" did not finish within ${timeoutMs} ms; killed it`));
      });
    }, timeoutMs);
    const onAbort = (): void => {
      settle(() => {
        child.kill('SIGKILL');
        reject(new ProbeError('PROBE_UNAVAILABLE', `"${commandLine}" stopped: the probe was closed`));
      });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const firstLine = (text: string): string | undefined =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== '');

/**
 * The tool's own account of a failed run: the first non-blank line of stderr, or of stdout when
 * stderr is empty (nvidia-smi prints most of its errors, "couldn't communicate with the NVIDIA
 * driver" included, on stdout), with the exit status.
 */
export function describeNvidiaSmiFailure(run: NvidiaSmiRun): string {
  const said = firstLine(run.stderr) ?? firstLine(run.stdout) ?? 'no output';
  const ending = run.exitCode === null ? `killed by ${run.signal ?? 'a signal'}` : `exit ${run.exitCode}`;
  return `${said} (${ending})`;
}
