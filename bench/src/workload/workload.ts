/**
 * The common currency of the capacity-planning simulator's inputs: every trace reader and synthetic
 * generator produces `WorkloadRequest`s, so the simulator never cares where a workload came from.
 */

/** One request to replay: when it arrives (ms after the workload starts) and what it asks for. */
export interface WorkloadRequest {
  /** Milliseconds after the workload starts (trace readers put their first request at 0). */
  readonly arrivalMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Requests with the same id belong to one conversation or agent session. */
  readonly sessionId?: string;
  /** Prompt prefix block hashes (as KV-cache traces such as Mooncake publish them), in prompt order. */
  readonly prefixBlocks?: readonly number[];
}

/** A trace row that does not have the documented shape. The message is `"<file>:<line>: <reason>"`. */
export class WorkloadFormatError extends Error {
  override readonly name = 'WorkloadFormatError';
  readonly code = 'TRACE_FORMAT';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export interface ReadOptions {
  /**
   * Count and report malformed rows in `ReadResult.skipped` instead of stopping at the first one.
   * Off by default: a capacity plan built on a silently thinned trace is wrong without saying so.
   */
  readonly skipBadRows?: boolean;
}

/** A row left out under `skipBadRows`: its 1-based line number in the file and why. */
export interface SkippedRow {
  readonly line: number;
  readonly reason: string;
}

export interface ReadResult {
  readonly requests: WorkloadRequest[];
  readonly skipped: SkippedRow[];
}
