import type { Msg, Subscription } from '@nats-io/transport-node';
import {
  Assignment,
  CancelRequest,
  decode,
  type ErrorCode,
  errorReply,
  type Heartbeat,
  NodeNotice,
  PROTOCOL_VERSION,
  subjects,
  subjectToken,
  SwitchyardError,
} from '@switchyard/protocol';
import { AssignedJobs } from './assigned-jobs.js';
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
import type { NodeAgentOptions, NodeIdentity } from './node-agent-options.js';
import { NodeWire } from './node-wire.js';
import { applyPowerLimit } from './power-limit.js';
import { RegistrationLoop } from './registration-loop.js';
import { SessionHost } from './sessions/session-host.js';

export type { AgentLogger, NodeAgentOptions, NodeIdentity, NodeResultEvent } from './node-agent-options.js';

/**
 * The wire side of one node: registers, heartbeats, takes assignments, answers clients directly
 * and tells the scheduler when work leaves. Jobs are keyed by request id, so a re-sent assignment
 * (a client retrying with its idempotency key) joins the running job instead of running twice.
 */
export class NodeAgent implements BackendListener {
  private readonly backend: ExecutionBackend;
  private readonly clock: () => number;
  private readonly jobs: AssignedJobs;
  private readonly wire: NodeWire;
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
    this.wire = new NodeWire(options.nc, options.identity.nodeId, options.log);
    this.jobs = new AssignedJobs({
      nodeId: options.identity.nodeId,
      cluster: options.identity.cluster,
      backend: this.backend,
      wire: this.wire,
      toScheduler: this.toScheduler,
      log: options.log,
      onResult: options.onResult,
    });
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

  /** A client stops a request this node runs (see AssignedJobs.cancel). */
  private onCancel(msg: Msg): void {
    const decoded = decode(CancelRequest, msg.data);
    if (!decoded.ok) {
      this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
      return;
    }
    const { requestId } = decoded.value;
    // The subject names the tenant asking (nats-server lets a client publish only as its own):
    // another tenant's request is not found, as if it did not exist.
    const cancelled = this.jobs.cancel(requestId, subjectToken(msg.subject, 5));
    this.respond(msg, { v: PROTOCOL_VERSION, ok: true, requestId, cancelled });
  }

  /** Applied and answered at once, not deferred like work acks: the scheduler caps no further until it hears. */
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
    if (this.jobs.join(assignment)) {
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
    this.jobs.add(assignment);
    this.ack(msg, assignment.requestId);
  }

  firstToken(): void {
    // TTFT is measured by the backend and reported in the result's timings.
  }

  /** Streamed text of an assigned request (see AssignedJobs.text). */
  text(jobId: string, chunk: string): void {
    this.jobs.text(jobId, chunk);
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
    this.jobs.completed(completion);
  }

  /** The backend gave up on a job (the model server failed): its clients hear why, at once. */
  failed(jobId: string, code: ErrorCode, message: string): void {
    const local = this.localJobs.get(jobId);
    if (local !== undefined) {
      this.localJobs.delete(jobId);
      local.reject(new SwitchyardError(code, message));
      return;
    }
    this.jobs.failed(jobId, code, message);
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
    this.jobs.clearDeadlines();
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
    this.wire.respond(msg, body);
  }

  private publish(subject: string, body: object): void {
    this.wire.publish(subject, body);
  }
}
