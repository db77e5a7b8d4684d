import type { Liveness } from './node-record.js';

/** Heartbeat-gap thresholds. A node silent for `suspectAfterMs` gets no new work; after `deadAfterMs` its work moves. */
export interface FailureDetectorConfig {
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  /** Dead nodes are forgotten this long after their last heartbeat (their record only serves status pages). */
  readonly forgetAfterMs: number;
}

/** Defaults for a 1 s heartbeat: suspect after 3 missed beats, dead after 5. */
export const DEFAULT_FAILURE_DETECTOR: FailureDetectorConfig = {
  suspectAfterMs: 3_000,
  deadAfterMs: 5_000,
  forgetAfterMs: 10 * 60_000,
};

/** Thrown at start-up when thresholds cannot work together. */
export class FailureDetectorConfigError extends Error {
  override readonly name = 'FailureDetectorConfigError';
}

/** Checks that suspect < dead ≤ forget and all are positive. */
export function validateFailureDetectorConfig(config: FailureDetectorConfig): FailureDetectorConfig {
  const { suspectAfterMs, deadAfterMs, forgetAfterMs } = config;
  if (!(suspectAfterMs > 0 && deadAfterMs > suspectAfterMs && forgetAfterMs >= deadAfterMs)) {
    throw new FailureDetectorConfigError(
      `need 0 < suspectAfterMs (${suspectAfterMs}) < deadAfterMs (${deadAfterMs}) <= forgetAfterMs (${forgetAfterMs})`,
    );
  }
  return config;
}

/** Liveness of a node whose last heartbeat arrived at `lastHeartbeatMs`, judged at `nowMs`. */
export function livenessAt(lastHeartbeatMs: number, nowMs: number, config: FailureDetectorConfig): Liveness {
  const silentMs = nowMs - lastHeartbeatMs;
  if (silentMs >= config.deadAfterMs) return 'dead';
  if (silentMs >= config.suspectAfterMs) return 'suspect';
  return 'alive';
}
