import type { NatsConnection } from '@nats-io/transport-node';
import type { Assignment as AssignmentMessage } from '@switchyard/protocol';
import type { BackendListener, ExecutionBackend } from './backends/backend.js';
import type { HardwarePowerLimiter } from './hardware/power-limiter.js';
import type { TelemetrySource } from './hardware/telemetry-sampler.js';
import type { SessionLog } from './sessions/session-log.js';

/** Who a node is, as it reports itself. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly cluster: string;
  readonly zone: string;
  readonly profile: string;
  readonly chipCount: number;
  /** The Kubernetes Node this process runs on, when it runs in Kubernetes. */
  readonly kubernetesNode?: string;
}

/** Structured logger (pino's shape). */
export interface AgentLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What a NodeAgent is built from. */
export interface NodeAgentOptions {
  readonly identity: NodeIdentity;
  readonly nc: NatsConnection;
  /** Builds the backend, given the listener the agent wants events on. */
  readonly backend: (listener: BackendListener) => ExecutionBackend;
  readonly heartbeatIntervalMs: number;
  readonly incarnation: string;
  readonly agentVersion: string;
  readonly log: AgentLogger;
  readonly clock?: () => number;
  /** The durable session log; without it the node takes no sessions. */
  readonly sessionLog?: SessionLog;
  /** Who the ownership record names as a session's owner (required with sessionLog). */
  readonly sessionOwner?: (sessionId: string) => Promise<string | null | undefined>;
  /** Sessions idle this long drop their context from accelerator memory (default 5 minutes). */
  readonly sessionIdleOffloadMs?: number;
  /** Hears every request that leaves the node (for metrics). */
  readonly onResult?: (result: NodeResultEvent) => void;
  /** The node's real hardware figures (a probe's sampler); without it the backend's are reported. */
  readonly telemetry?: TelemetrySource;
  /** Applies the scheduler's power limits to the real devices (NVIDIA); without it only the backend takes them. */
  readonly powerLimiter?: HardwarePowerLimiter;
}

/** One request leaving the node, as metrics count it. */
export interface NodeResultEvent {
  readonly nodeId: string;
  readonly sloClass: AssignmentMessage['sloClass'];
  readonly ok: boolean;
  /** The time budget the assignment carried, if any. */
  readonly deadlineAfterMs: number | undefined;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly energyJoules: number;
}
