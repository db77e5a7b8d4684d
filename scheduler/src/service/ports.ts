import type {
  Assignment,
  AssignmentReply,
  ErrorCode,
  ErrorReply,
  PowerLimitAck,
  PowerLimitCommand,
  SessionAdopt,
  SessionAdoptReply,
  SessionRelease,
} from '@switchyard/protocol';

/** Why an assignment got no reply from the node. */
export interface AssignFailure {
  readonly ok: false;
  readonly transport: 'timeout' | 'no-responders' | 'invalid-reply' | 'disconnected';
  readonly message: string;
}

/**
 * How the scheduler service talks to the world. The NATS adapter implements it; tests may record.
 * Implementations must never throw: failures come back as values.
 */
export interface SchedulerOutbox {
  /** Publishes one protocol message (fire and forget). */
  publish(subject: string, message: object): void;
  /** Sends an assignment to a node and waits for its ack or refusal. */
  assign(nodeId: string, assignment: Assignment, timeoutMs: number): Promise<AssignmentReply | AssignFailure>;
  /** Asks a node to take ownership of a session (it restores it from the log first). */
  adoptSession(nodeId: string, adopt: SessionAdopt, timeoutMs: number): Promise<SessionAdoptReply | AssignFailure>;
  /** Tells a node to stop serving a session. */
  releaseSession(
    nodeId: string,
    release: SessionRelease,
    timeoutMs: number,
  ): Promise<SessionAdoptReply | AssignFailure>;
  /**
   * Sets a node's power limit and waits for its ack (the limit it applied, after clamping to the
   * hardware's range) or its refusal. Idempotent on the node: re-sending the same limit is harmless.
   */
  setPowerLimit(
    nodeId: string,
    command: PowerLimitCommand,
    timeoutMs: number,
  ): Promise<PowerLimitAck | AssignFailure | ErrorReply>;
}

/** Structured logger (pino's shape): fields first, message second. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * Counts of outcomes, by name (placements, rejections by code, dropped messages by reason), and
 * observations of durations handed to whoever listens (the metrics adapter keeps histograms of
 * them; without a listener they cost a loop over nothing).
 */
export class Counters {
  private readonly values = new Map<string, number>();
  private readonly listeners: ((name: string, value: number) => void)[] = [];

  increment(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  /** Reports one observation (a duration in seconds, by convention of the name). */
  observe(name: string, value: number): void {
    for (const listener of this.listeners) listener(name, value);
  }

  /** Hears every later `observe`. */
  onObserve(listener: (name: string, value: number) => void): void {
    this.listeners.push(listener);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Counter name for an error code, e.g. `rejected.NO_CAPACITY`. */
  static rejected(code: ErrorCode): string {
    return `rejected.${code}`;
  }
}
