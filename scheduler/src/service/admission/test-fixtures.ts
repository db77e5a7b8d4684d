/**
 * A recording harness for InferenceService tests: an outbox whose nodes answer assignments from a
 * script, a fleet of real profiles, an injected clock. Test-only.
 */
import { createRng, getModel, getProfile } from '@switchyard/fleet-model';
import {
  type Assignment,
  type AssignmentReply,
  type ErrorCode,
  ErrorReply,
  errorReply,
  type InferRequest,
  type WorkResult,
} from '@switchyard/protocol';
import { DEFAULT_FAILURE_DETECTOR } from '../../core/fleet/failure-detector.js';
import { FleetView } from '../../core/fleet/fleet-view.js';
import { buildPlacement } from '../../core/placement/registry.js';
import { DEFAULT_REQUEST_LEDGER, RequestLedger } from '../../core/requests/request-ledger.js';
import { type NodeSpec, registration } from '../../core/test-fixtures.js';
import { Topology, type TopologySpec } from '../../core/topology/topology.js';
import { DEFAULT_INFERENCE_CONFIG, InferenceService, type InferenceServiceConfig } from '../inference-service.js';
import { type AssignFailure, Counters, type Logger, type SchedulerOutbox } from '../ports.js';

/** A scripted reply to one assignment: the agent's ack, its refusal, or a transport failure. */
export type Scripted = 'ack' | AssignmentReply | AssignFailure | 'hold';

export const refuse = (code: ErrorCode): AssignmentReply => errorReply(code, `refused: ${code}`);
export const timeout: AssignFailure = { ok: false, transport: 'timeout', message: 'no reply within 2000 ms' };
export const noResponders: AssignFailure = { ok: false, transport: 'no-responders', message: 'no subscribers' };

/** Records what the service sends; each node answers its assignments from a script (ack by default). */
export class RecordingOutbox implements SchedulerOutbox {
  readonly published: { subject: string; message: object }[] = [];
  readonly assigned: { nodeId: string; assignment: Assignment; timeoutMs: number }[] = [];
  readonly script = new Map<string, Scripted[]>();
  /** Replies the script said to hold: resolve them to deliver late. */
  readonly held: ((reply: AssignmentReply | AssignFailure) => void)[] = [];

  publish(subject: string, message: object): void {
    this.published.push({ subject, message });
  }

  assign(nodeId: string, assignment: Assignment, timeoutMs: number): Promise<AssignmentReply | AssignFailure> {
    this.assigned.push({ nodeId, assignment, timeoutMs });
    const next = this.script.get(nodeId)?.shift() ?? 'ack';
    if (next === 'hold') return new Promise((resolve) => this.held.push(resolve));
    if (next === 'ack') return Promise.resolve({ v: 1, ok: true, requestId: assignment.requestId, queueDepth: 0 });
    return Promise.resolve(next);
  }

  /** Error replies published to `subject`, parsed against the wire schema. */
  errorsTo(subject: string): ErrorReply[] {
    return this.published.filter((p) => p.subject === subject).map((p) => ErrorReply.parse(p.message));
  }

  adoptSession(): never {
    throw new Error('the inference service never moves sessions');
  }

  releaseSession(): never {
    throw new Error('the inference service never moves sessions');
  }

  setPowerLimit(): never {
    throw new Error('the inference service never sets power limits');
  }
}

/** Request ids are the idempotency key scoped by tenant. */
export const ACME_K1 = 'acme:k1';
export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** Lets every already-resolved assignment reply run through the service (no timers involved). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** a (H200) is preferred over b (H100) over c (L4); all have the 8B model loaded. */
export const NODES: NodeSpec[] = [
  { nodeId: 'a', profile: 'h200', loaded: ['llama-3.1-8b'] },
  { nodeId: 'b', profile: 'h100', loaded: ['llama-3.1-8b'] },
  { nodeId: 'c', profile: 'l4', loaded: ['llama-3.1-8b'] },
];

/** What a test may vary about the service under test. */
export interface SetupOptions {
  readonly nodes?: NodeSpec[];
  readonly maxAttempts?: number;
  readonly config?: Partial<InferenceServiceConfig>;
  readonly topology?: TopologySpec;
}

/** A service over a fleet of `nodes` (default NODES) at t = 1,000,000 ms; `advance` moves the clock. */
export function setup(options: SetupOptions = {}) {
  let nowMs = 1_000_000;
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, undefined, new Topology(options.topology));
  for (const spec of options.nodes ?? NODES) fleet.register(registration(spec), nowMs);
  const ledger = new RequestLedger({ ...DEFAULT_REQUEST_LEDGER, maxAttempts: options.maxAttempts ?? 3 });
  const outbox = new RecordingOutbox();
  const counters = new Counters();
  const clock = (): number => nowMs;
  const service = new InferenceService(
    'sched-t',
    fleet,
    ledger,
    buildPlacement(),
    getModel,
    outbox,
    counters,
    silent,
    clock,
    createRng(1),
    { ...DEFAULT_INFERENCE_CONFIG, ...options.config },
  );
  return { service, fleet, ledger, outbox, counters, advance: (ms: number) => (nowMs += ms), now: clock };
}

export function request(extra: Partial<InferRequest> = {}): InferRequest {
  return {
    v: 1,
    model: 'llama-3.1-8b',
    inputTokens: 500,
    maxOutputTokens: 100,
    priority: 'normal',
    sloClass: 'interactive',
    ...extra,
  };
}

export function result(requestId: string, nodeId: string, extra: Partial<WorkResult> = {}): WorkResult {
  const timings = { queueMs: 0, loadMs: 0, ttftMs: 10, totalMs: 100 };
  return { v: 1, nodeId, requestId, attempt: 1, ok: true, outputTokens: 100, timings, energyJoules: 1, ...extra };
}

/** Request ids in the order they were assigned (first assignments only; joins and re-placements left out). */
export function placedIds(outbox: RecordingOutbox): string[] {
  const ids: string[] = [];
  for (const { assignment } of outbox.assigned) if (!ids.includes(assignment.requestId)) ids.push(assignment.requestId);
  return ids;
}

/** The node reports the request's latest assignment done; then lets the freed slot be taken. */
export async function complete(service: InferenceService, outbox: RecordingOutbox, requestId: string): Promise<void> {
  const last = outbox.assigned.findLast((a) => a.assignment.requestId === requestId);
  if (last === undefined) throw new Error(`test: ${requestId} was never assigned`);
  service.workResult(last.nodeId, result(requestId, last.nodeId, { attempt: last.assignment.attempt }));
  await settle();
}
