import {
  type Assignment,
  encode,
  type ErrorCode,
  errorReply,
  type InferResult,
  PROTOCOL_VERSION,
  subjects,
  type Timings,
  type WorkResult,
} from '@switchyard/protocol';
import type { BackendCompletion, ExecutionBackend } from './backends/backend.js';
import type { DeferredSends } from './deferred-sends.js';
import type { AgentLogger, NodeResultEvent } from './node-agent-options.js';
import type { NodeWire } from './node-wire.js';

/** What the assigned jobs of one node answer through. */
export interface AssignedJobsOptions {
  readonly nodeId: string;
  readonly cluster: string;
  /** Told to drop a job that was cancelled or ran past its deadline. */
  readonly backend: ExecutionBackend;
  readonly wire: NodeWire;
  /** Results to the scheduler wait here until the node agent flushes them. */
  readonly toScheduler: DeferredSends;
  readonly log: AgentLogger;
  readonly onResult?: ((result: NodeResultEvent) => void) | undefined;
}

interface AssignedJob {
  readonly assignment: Assignment;
  readonly replyTo: string[];
  readonly deadlineTimer: NodeJS.Timeout | undefined;
  /** Text streamed so far, in order (the result carries it whole). */
  readonly text: string[];
}

const zeroTimings: Timings = { queueMs: 0, loadMs: 0, ttftMs: 0, totalMs: 0 };

/**
 * The scheduler's requests running on one node, by request id: streams their text to every client
 * waiting, answers those clients when the request leaves (done, failed, cancelled or past its
 * deadline) and reports each one to the scheduler exactly once.
 */
export class AssignedJobs {
  private readonly jobs = new Map<string, AssignedJob>();

  constructor(private readonly options: AssignedJobsOptions) {}

  get size(): number {
    return this.jobs.size;
  }

  /** A re-sent assignment of a running request: its client joins the job. False if none runs. */
  join(assignment: Assignment): boolean {
    const existing = this.jobs.get(assignment.requestId);
    if (existing === undefined) return false;
    if (!existing.replyTo.includes(assignment.replyTo)) existing.replyTo.push(assignment.replyTo);
    return true;
  }

  /** Tracks an assignment the backend has accepted, starting its deadline if it has one. */
  add(assignment: Assignment): void {
    const deadlineTimer =
      assignment.deadlineAfterMs === undefined
        ? undefined
        : setTimeout(() => this.expire(assignment.requestId), Math.max(1, assignment.deadlineAfterMs));
    this.jobs.set(assignment.requestId, { assignment, replyTo: [assignment.replyTo], deadlineTimer, text: [] });
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
      nodeId: this.options.nodeId,
      text: chunk,
    };
    for (const replyTo of job.replyTo) this.options.wire.publish(replyTo, message);
  }

  /** The backend finished a request: its clients get the result. */
  completed(completion: BackendCompletion): void {
    const job = this.jobs.get(completion.jobId);
    if (job === undefined) return;
    this.jobs.delete(completion.jobId);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    const { assignment } = job;
    const { nodeId, wire } = this.options;
    const result: InferResult = {
      v: PROTOCOL_VERSION,
      ok: true,
      requestId: assignment.requestId,
      nodeId,
      cluster: this.options.cluster,
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
      this.options.log.error({ nodeId, requestId: assignment.requestId }, message);
      for (const replyTo of job.replyTo)
        wire.publish(replyTo, errorReply('INTERNAL', message, { requestId: assignment.requestId }));
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
    for (const replyTo of job.replyTo) wire.publishBytes(replyTo, body);
    this.reportResult(assignment, true, undefined, completion.outputTokens, result.timings, completion.energyJoules);
  }

  /** The backend gave up on a request (the model server failed): its clients hear why, at once. */
  failed(jobId: string, code: ErrorCode, message: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    this.jobs.delete(jobId);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    const { nodeId } = this.options;
    this.options.log.warn({ nodeId, requestId: jobId, code, err: message }, 'backend failed a request');
    const body = errorReply(code, `node ${nodeId}: ${message}`, { requestId: jobId });
    for (const replyTo of job.replyTo) this.options.wire.publish(replyTo, body);
    this.reportResult(job.assignment, false, code, 0, zeroTimings, 0);
  }

  /**
   * A client stops a request: the backend drops it (a model server sees its HTTP request aborted),
   * every client waiting on it hears CANCELLED, and the scheduler releases it. Only the tenant that
   * sent the request may cancel it; for any other it is not found. Returns whether it was running.
   */
  cancel(requestId: string, tenant: string | undefined): boolean {
    const job = this.jobs.get(requestId);
    if (job === undefined || job.assignment.tenant !== tenant) return false;
    this.jobs.delete(requestId);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    this.options.backend.cancel(requestId);
    const body = errorReply('CANCELLED', `request ${requestId} was cancelled by its client`, { requestId });
    for (const replyTo of job.replyTo) this.options.wire.publish(replyTo, body);
    this.reportResult(job.assignment, false, 'CANCELLED', 0, zeroTimings, 0);
    this.options.log.info({ nodeId: this.options.nodeId, requestId }, 'request cancelled by its client');
    return true;
  }

  /** Stops every deadline: the node is going away and its requests are abandoned, not expired. */
  clearDeadlines(): void {
    for (const job of this.jobs.values()) if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
  }

  /** Forgets every request (the scheduler re-places them when it reads the node's goodbye). */
  clear(): void {
    this.jobs.clear();
  }

  private expire(requestId: string): void {
    const job = this.jobs.get(requestId);
    if (job === undefined) return;
    this.jobs.delete(requestId);
    this.options.backend.cancel(requestId);
    const body = errorReply(
      'DEADLINE_EXCEEDED',
      `deadline of ${job.assignment.deadlineAfterMs} ms passed on node ${this.options.nodeId}`,
      { requestId },
    );
    for (const replyTo of job.replyTo) this.options.wire.publish(replyTo, body);
    this.reportResult(job.assignment, false, 'DEADLINE_EXCEEDED', 0, zeroTimings, 0);
  }

  private reportResult(
    assignment: Assignment,
    ok: boolean,
    code: ErrorCode | undefined,
    outputTokens: number,
    timings: Timings,
    energyJoules: number,
  ): void {
    const { nodeId } = this.options;
    const result: WorkResult = {
      v: PROTOCOL_VERSION,
      nodeId,
      requestId: assignment.requestId,
      attempt: assignment.attempt,
      ok,
      outputTokens,
      timings,
      energyJoules: Math.max(0, energyJoules),
      ...(code === undefined ? {} : { code }),
    };
    this.options.toScheduler.defer(() => this.options.wire.publish(subjects.result(nodeId), result));
    this.options.onResult?.({
      nodeId,
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
}

/** Rounds to the microsecond: sub-µs digits are noise on the wire. */
function roundUs(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundTimings(t: Timings): Timings {
  const r = roundUs;
  return { queueMs: r(t.queueMs), loadMs: r(t.loadMs), ttftMs: r(t.ttftMs), totalMs: r(t.totalMs) };
}
