import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  Assignment,
  type Assignment as AssignmentMessage,
  CancelRequest,
  decode,
  encode,
  type ErrorCode,
  errorReply,
  type Heartbeat,
  type InferResult,
  NodeNotice,
  PROTOCOL_VERSION,
  subjects,
  subjectToken,
  SwitchyardError,
  type Timings,
  type WorkResult,
} from '@switchyard/protocol';
import type {
  BackendCompletion,
  BackendJob,
  BackendListener,
  BackendStatus,
  ExecutionBackend,
} from './backends/backend.js';
import { DeferredSends } from './deferred-sends.js';
import { guardedHandler } from './guarded-handler.js';
import { HeartbeatBuilder } from './heartbeat-builder.js';
import type { HardwarePowerLimiter } from './hardware/power-limiter.js';
import type { TelemetrySource } from './hardware/telemetry-sampler.js';
import { applyPowerLimit } from './power-limit.js';
import { RegistrationLoop } from './registration-loop.js';
import { SessionHost } from './sessions/session-host.js';
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

interface ActiveJob {
  readonly assignment: AssignmentMessage;
  readonly replyTo: string[];
  readonly deadlineTimer: NodeJS.Timeout | undefined;
  /** Text streamed so far, in order (the result carries it whole). */
  readonly text: string[];
}

const zeroTimings: Timings = { queueMs: 0, loadMs: 0, ttftMs: 0, totalMs: 0 };

/**
 * The wire side of one node: registers, heartbeats, takes assignments, answers clients directly
 * and tells the scheduler when work leaves. Jobs are keyed by request id, so a re-sent assignment
 * (a client retrying with its idempotency key) joins the running job instead of running twice.
 */
export class NodeAgent implements BackendListener {
  private readonly backend: ExecutionBackend;
  private readonly clock: () => number;
  private readonly jobs = new Map<string, ActiveJob>();
  private readonly subscriptions: Subscription[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly heartbeats: HeartbeatBuilder;
  private state: Heartbeat['state'] = 'ready';
  private readonly toScheduler = new DeferredSends();
  /** Jobs run for this node's own purposes (session turns), by job id. */
  private readonly localJobs = new Map<
    string,
    { readonly resolve: (completion: BackendCompletion) => void; readonly reject: (err: Error) => void }
  >();
  private sessions: SessionHost | undefined;
  private stopped = false;
  private readonly registration: RegistrationLoop;

  constructor(private readonly options: NodeAgentOptions) {
    this.clock = options.clock ?? Date.now;
    this.backend = options.backend(this);
    this.heartbeats = new HeartbeatBuilder(
      options.identity,
      options.incarnation,
      () => this.backend.status(),
      this.clock,
      options.telemetry,
    );
    this.registration = new RegistrationLoop(
      options.nc,
      options.identity.nodeId,
      () => ({
        ...this.heartbeats.next(this.state),
        agentVersion: options.agentVersion,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
      }),
      options.log,
      () => this.stopped,
    );
  }

  get nodeId(): string {
    return this.options.identity.nodeId;
  }

  get identity(): NodeIdentity {
    return this.options.identity;
  }

  /** The backend's current figures (draw, limit, memory, queue). */
  get backendStatus(): BackendStatus {
    return this.backend.status();
  }

  /** Accelerator utilisation as the last heartbeat reported it (0–1). */
  get utilization(): number {
    return this.heartbeats.utilization;
  }

  get activeJobs(): number {
    return this.jobs.size;
  }

  start(): void {
    const { nc, identity } = this.options;
    const log = this.options.log;
    this.subscriptions.push(
      nc.subscribe(subjects.assign(identity.nodeId), {
        callback: guardedHandler('assign', (msg) => this.onAssign(msg), log),
      }),
      nc.subscribe(subjects.notice(identity.nodeId), {
        callback: guardedHandler('notice', (msg) => this.onNotice(msg), log),
      }),
      nc.subscribe(subjects.nodePower(identity.nodeId), {
        callback: guardedHandler('power', (msg) => this.onPowerLimit(msg), log),
      }),
      nc.subscribe(subjects.nodeCancelAnyTenant(identity.nodeId), {
        callback: guardedHandler('cancel', (msg) => this.onCancel(msg), log),
      }),
    );
    if (this.options.sessionLog !== undefined && this.options.sessionOwner !== undefined) {
      const host = new SessionHost({
        currentOwner: this.options.sessionOwner,
        nodeId: identity.nodeId,
        nc,
        log: this.options.sessionLog,
        run: (job) => this.runLocal(job),
        logger: this.options.log,
        clock: this.clock,
        idleOffloadMs: this.options.sessionIdleOffloadMs ?? 5 * 60_000,
      });
      this.sessions = host;
      this.subscriptions.push(
        nc.subscribe(subjects.nodeSession(identity.nodeId, 'adopt'), {
          callback: guardedHandler('session adopt', (msg) => host.adopt(msg), log),
        }),
        nc.subscribe(subjects.nodeSession(identity.nodeId, 'release'), {
          callback: guardedHandler('session release', (msg) => host.release(msg), log),
        }),
      );
    }
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), this.options.heartbeatIntervalMs);
    void this.register();
  }

  /** Registers until the scheduler acknowledges (it may not be up yet). Single-flight. */
  register(): Promise<void> {
    return this.registration.register();
  }

  /** Whether the scheduler has acknowledged this node's registration. */
  get registered(): boolean {
    return this.registration.registered;
  }

  private sendHeartbeat(): void {
    if (this.stopped) return;
    this.publish(subjects.heartbeat(this.nodeId), this.heartbeats.next(this.state));
  }

  private onNotice(msg: Msg): void {
    const decoded = decode(NodeNotice, msg.data);
    if (!decoded.ok) {
      this.options.log.warn({ nodeId: this.nodeId, reason: decoded.error.message }, 'invalid notice dropped');
      return;
    }
    if (decoded.value.action === 'register') void this.register();
  }

  /** Applied and answered at once, not deferred like work acks: the scheduler caps no further until it hears. */
  /**
   * A client stops a request this node runs: the backend drops it (a model server sees its HTTP
   * request aborted), every client waiting on it hears CANCELLED, and the scheduler releases it.
   */
  private onCancel(msg: Msg): void {
    const decoded = decode(CancelRequest, msg.data);
    if (!decoded.ok) {
      this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
      return;
    }
    const { requestId } = decoded.value;
    // The subject names the tenant asking (nats-server lets a client publish only as its own):
    // another tenant's request is not found, as if it did not exist.
    const tenant = subjectToken(msg.subject, 5);
    const found = this.jobs.get(requestId);
    const job = found !== undefined && found.assignment.tenant === tenant ? found : undefined;
    if (job !== undefined) {
      this.jobs.delete(requestId);
      if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
      this.backend.cancel(requestId);
      const body = errorReply('CANCELLED', `request ${requestId} was cancelled by its client`, { requestId });
      for (const replyTo of job.replyTo) this.publish(replyTo, body);
      this.reportResult(job.assignment, false, 'CANCELLED', 0, zeroTimings, 0);
      this.options.log.info({ nodeId: this.nodeId, requestId }, 'request cancelled by its client');
    }
    this.respond(msg, { v: PROTOCOL_VERSION, ok: true, requestId, cancelled: job !== undefined });
  }

  private onPowerLimit(msg: Msg): void {
    void applyPowerLimit(msg.data, {
      nodeId: this.nodeId,
      backend: this.backend,
      log: this.options.log,
      stopped: this.stopped,
      ...(this.options.powerLimiter === undefined ? {} : { hardware: this.options.powerLimiter }),
    }).then((reply) => this.respond(msg, reply));
  }

  private onAssign(msg: Msg): void {
    const decoded = decode(Assignment, msg.data);
    if (!decoded.ok) {
      this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
      return;
    }
    const assignment = decoded.value;
    const existing = this.jobs.get(assignment.requestId);
    if (existing !== undefined) {
      if (!existing.replyTo.includes(assignment.replyTo)) existing.replyTo.push(assignment.replyTo);
      this.ack(msg, assignment.requestId);
      return;
    }
    if (this.state === 'draining' || this.stopped) {
      this.respond(
        msg,
        errorReply('NODE_DRAINING', `node ${this.nodeId} is draining`, { requestId: assignment.requestId }),
      );
      return;
    }
    const outcome = this.backend.submit({
      id: assignment.requestId,
      model: assignment.model,
      inputTokens: assignment.inputTokens,
      maxOutputTokens: assignment.maxOutputTokens,
      priority: assignment.priority,
      ...(assignment.prompt === undefined ? {} : { prompt: assignment.prompt }),
    });
    if (!outcome.ok) {
      this.respond(msg, errorReply(outcome.code, outcome.message, { requestId: assignment.requestId }));
      return;
    }
    const deadlineTimer =
      assignment.deadlineAfterMs === undefined
        ? undefined
        : setTimeout(() => this.expire(assignment.requestId), Math.max(1, assignment.deadlineAfterMs));
    this.jobs.set(assignment.requestId, { assignment, replyTo: [assignment.replyTo], deadlineTimer, text: [] });
    this.ack(msg, assignment.requestId);
  }

  firstToken(): void {
    // TTFT is measured by the backend and reported in the result's timings.
  }

  /**
   * Streamed text: published at once to every client waiting on the request when it asked to
   * stream, numbered per attempt; the result then says how many chunks came before it. A retry that
   * joined mid-stream gets the chunks from then on, and the whole text in the result.
   */
  text(jobId: string, chunk: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || chunk === '') return;
    const seq = job.text.length;
    job.text.push(chunk);
    if (job.assignment.stream !== true) return;
    const message = {
      v: PROTOCOL_VERSION,
      chunk: true as const,
      requestId: jobId,
      attempt: job.assignment.attempt,
      seq,
      nodeId: this.nodeId,
      text: chunk,
    };
    for (const replyTo of job.replyTo) this.publish(replyTo, message);
  }

  /** Sessions this node serves. */
  get sessionCount(): number {
    return this.sessions?.size ?? 0;
  }

  /** Runs a job of the node's own (a session turn) on the backend; resolves when it completes. */
  runLocal(job: BackendJob): Promise<BackendCompletion> {
    if (this.state === 'draining' || this.stopped) {
      return Promise.reject(new SwitchyardError('NODE_DRAINING', `node ${this.nodeId} is draining`));
    }
    return new Promise((resolve, reject) => {
      const outcome = this.backend.submit(job);
      if (!outcome.ok) {
        reject(new SwitchyardError(outcome.code, outcome.message));
        return;
      }
      this.localJobs.set(job.id, { resolve, reject });
    });
  }

  completed(completion: BackendCompletion): void {
    const local = this.localJobs.get(completion.jobId);
    if (local !== undefined) {
      this.localJobs.delete(completion.jobId);
      local.resolve(completion);
      return;
    }
    const job = this.jobs.get(completion.jobId);
    if (job === undefined) return;
    this.jobs.delete(completion.jobId);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    const { assignment } = job;
    const result: InferResult = {
      v: PROTOCOL_VERSION,
      ok: true,
      requestId: assignment.requestId,
      nodeId: this.nodeId,
      cluster: this.options.identity.cluster,
      model: assignment.model,
      inputTokens: assignment.inputTokens,
      outputTokens: completion.outputTokens,
      timings: roundTimings(completion.timings),
      ...(completion.text !== undefined
        ? { text: completion.text }
        : job.text.length > 0
          ? { text: job.text.join('') }
          : {}),
      ...(assignment.stream === true ? { chunks: job.text.length } : {}),
    };
    let body: Uint8Array;
    try {
      body = encode(result);
    } catch (err) {
      // Too large for one message (e.g. a long text): the client gets a typed error, never silence.
      const message = `result of ${assignment.requestId} cannot be sent: ${err instanceof Error ? err.message : String(err)}`;
      this.options.log.error({ nodeId: this.nodeId, requestId: assignment.requestId }, message);
      for (const replyTo of job.replyTo)
        this.publish(replyTo, errorReply('INTERNAL', message, { requestId: assignment.requestId }));
      this.reportResult(
        assignment,
        false,
        'INTERNAL',
        completion.outputTokens,
        result.timings,
        completion.energyJoules,
      );
      return;
    }
    for (const replyTo of job.replyTo) this.publishBytes(replyTo, body);
    this.reportResult(assignment, true, undefined, completion.outputTokens, result.timings, completion.energyJoules);
  }

  /** The backend gave up on a job (the model server failed): its clients hear why, at once. */
  failed(jobId: string, code: ErrorCode, message: string): void {
    const local = this.localJobs.get(jobId);
    if (local !== undefined) {
      this.localJobs.delete(jobId);
      local.reject(new SwitchyardError(code, message));
      return;
    }
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    this.jobs.delete(jobId);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    this.options.log.warn({ nodeId: this.nodeId, requestId: jobId, code, err: message }, 'backend failed a request');
    const body = errorReply(code, `node ${this.nodeId}: ${message}`, { requestId: jobId });
    for (const replyTo of job.replyTo) this.publish(replyTo, body);
    this.reportResult(job.assignment, false, code, 0, zeroTimings, 0);
  }

  private expire(requestId: string): void {
    const job = this.jobs.get(requestId);
    if (job === undefined) return;
    this.jobs.delete(requestId);
    this.backend.cancel(requestId);
    const body = errorReply(
      'DEADLINE_EXCEEDED',
      `deadline of ${job.assignment.deadlineAfterMs} ms passed on node ${this.nodeId}`,
      { requestId },
    );
    for (const replyTo of job.replyTo) this.publish(replyTo, body);
    this.reportResult(job.assignment, false, 'DEADLINE_EXCEEDED', 0, zeroTimings, 0);
  }

  private reportResult(
    assignment: AssignmentMessage,
    ok: boolean,
    code: ErrorCode | undefined,
    outputTokens: number,
    timings: Timings,
    energyJoules: number,
  ): void {
    const result: WorkResult = {
      v: PROTOCOL_VERSION,
      nodeId: this.nodeId,
      requestId: assignment.requestId,
      attempt: assignment.attempt,
      ok,
      outputTokens,
      timings,
      energyJoules: Math.max(0, energyJoules),
      ...(code === undefined ? {} : { code }),
    };
    this.toScheduler.defer(() => this.publish(subjects.result(this.nodeId), result));
    this.options.onResult?.({
      nodeId: this.nodeId,
      sloClass: assignment.sloClass,
      ok,
      deadlineAfterMs: assignment.deadlineAfterMs,
      inputTokens: assignment.inputTokens,
      outputTokens,
      ttftMs: timings.ttftMs,
      totalMs: timings.totalMs,
      energyJoules: Math.max(0, energyJoules),
    });
  }

  /**
   * Graceful stop: report `draining` (the scheduler stops placing here), let running work finish
   * for up to `graceMs`, then say goodbye. Work still running at the end is abandoned and the
   * scheduler re-places it when it reads the goodbye.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.state = 'draining';
    this.sendHeartbeat();
    const graceEnds = this.clock() + graceMs;
    while (this.jobs.size > 0 && this.clock() < graceEnds) await new Promise((resolve) => setTimeout(resolve, 50));
    this.stopped = true;
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    for (const job of this.jobs.values()) if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    this.sessions?.close();
    this.backend.close();
    // Results first: the goodbye makes the scheduler re-place whatever it still thinks is here.
    this.toScheduler.flush();
    this.publish(subjects.deregister(this.nodeId), {
      v: PROTOCOL_VERSION,
      nodeId: this.nodeId,
      incarnation: this.options.incarnation,
      reason: this.jobs.size > 0 ? `stopped with ${this.jobs.size} jobs unfinished` : 'stopped',
    });
    this.jobs.clear();
    for (const sub of this.subscriptions) sub.unsubscribe();
  }

  private ack(msg: Msg, requestId: string): void {
    const body = { v: PROTOCOL_VERSION, ok: true, requestId, queueDepth: this.backend.status().queueDepth };
    this.toScheduler.defer(() => this.respond(msg, body));
  }

  private respond(msg: Msg, body: object): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encode(body));
    } catch (err) {
      this.options.log.error(
        { nodeId: this.nodeId, err: err instanceof Error ? err.message : String(err) },
        'reply failed',
      );
    }
  }

  private publish(subject: string, body: object): void {
    try {
      this.publishBytes(subject, encode(body));
    } catch (err) {
      this.options.log.error(
        { nodeId: this.nodeId, subject, err: err instanceof Error ? err.message : String(err) },
        'publish failed',
      );
    }
  }

  private publishBytes(subject: string, body: Uint8Array): void {
    try {
      this.options.nc.publish(subject, body);
    } catch (err) {
      this.options.log.error(
        { nodeId: this.nodeId, subject, err: err instanceof Error ? err.message : String(err) },
        'publish failed',
      );
    }
  }
}

/** Rounds to the microsecond: sub-µs digits are noise on the wire. */
function roundUs(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundTimings(t: Timings): Timings {
  const r = roundUs;
  return { queueMs: r(t.queueMs), loadMs: r(t.loadMs), ttftMs: r(t.ttftMs), totalMs: r(t.totalMs) };
}
