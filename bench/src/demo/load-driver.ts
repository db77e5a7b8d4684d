import { type Msg, type NatsConnection, RequestError, TimeoutError } from '@nats-io/transport-node';
import { createRng } from '@switchyard/fleet-model';
import {
  decode,
  encode,
  InferReply,
  type InferRequestInput,
  type Priority,
  type SloClass,
  subjects,
} from '@switchyard/protocol';
import type { TraceRequest } from '../workload/azure-trace.js';

/** What the load driver sends. */
export interface LoadMix {
  /** Model names with relative weights. */
  readonly models: readonly { readonly name: string; readonly weight: number }[];
  /** Token sizes to sample from (e.g. a real trace); sampled uniformly. */
  readonly sizes: readonly TraceRequest[];
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  /** Client regions with relative weights (requests carry their region); none: no region. */
  readonly regions?: readonly { readonly name: string; readonly weight: number }[];
  /** SLO classes with relative weights and the deadline each sets (default: all interactive). */
  readonly classes?: readonly { readonly sloClass: SloClass; readonly weight: number; readonly deadlineMs?: number }[];
}

/** The outcome of one request as the client saw it. */
export interface RequestOutcome {
  readonly sentAtMs: number;
  readonly latencyMs: number;
  /** `ok`, a wire error code, or CLIENT_TIMEOUT when no answer came at all. */
  readonly code: string;
  readonly model: string;
  readonly sloClass: SloClass;
  readonly region?: string;
  readonly cluster?: string;
  /** TTFT on the node. */
  readonly ttftMs?: number;
  /** TTFT as the client saw it: its latency less the node's decode time (node TTFT + network + scheduler hop). */
  readonly clientTtftMs?: number;
  readonly outputTokens?: number;
}

/**
 * Open-loop load: arrivals follow a Poisson process at `ratePerS` whatever the system does (no
 * coordinated omission), each request is independent, and every one ends as an answer or a
 * client-side timeout, which the summary reports as unanswered.
 */
export class LoadDriver {
  readonly outcomes: RequestOutcome[] = [];
  private inFlightCount = 0;
  private sentCount = 0;
  /** Requests resent because no scheduler was serving (leader failover). */
  retries = 0;
  /** Requests resent after going unanswered for an attempt (their scheduler and node both died). */
  resentAfterTimeout = 0;
  /** Retryable refusals (NO_CAPACITY, OVERLOADED) retried after their hint. */
  refusalsRetried = 0;
  private readonly rng: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly mix: LoadMix,
    private readonly ratePerS: number,
    seed: number,
    private readonly clientTimeoutMs = 120_000,
    private readonly attemptTimeoutMs = 30_000,
    private readonly tenant = 'demo',
  ) {
    this.rng = createRng(seed);
  }

  get sent(): number {
    return this.sentCount;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Sends requests until `durationMs` has passed. */
  run(durationMs: number): Promise<void> {
    const startMs = performance.now();
    let nextAtMs = startMs + this.interArrivalMs();
    return new Promise((resolve) => {
      const tick = (): void => {
        const nowMs = performance.now();
        while (nextAtMs <= nowMs && nextAtMs - startMs < durationMs) {
          this.sendOne();
          nextAtMs += this.interArrivalMs();
        }
        if (nextAtMs - startMs >= durationMs) {
          resolve();
          return;
        }
        this.timer = setTimeout(tick, Math.max(1, Math.min(20, nextAtMs - nowMs)));
      };
      tick();
    });
  }

  /** Waits for every sent request to end (answer or client timeout). */
  async settle(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /**
   * Sends like a well-behaved client of an at-most-once service: a "no responders" status (no
   * scheduler serving, e.g. during a leader failover) is retried with backoff, and a request
   * unanswered after `attemptTimeoutMs` (its scheduler and its node both died) is sent again with
   * the same idempotency key, until the client's own timeout.
   */
  private async send(body: Uint8Array, deadlineMs: number): Promise<Msg> {
    let backoffMs = 50;
    for (;;) {
      try {
        const reply = await this.nc.request(subjects.infer(this.tenant), body, {
          timeout: Math.max(1, Math.min(this.attemptTimeoutMs, deadlineMs - performance.now())),
        });
        // A retryable refusal (e.g. NO_CAPACITY from a leader still learning its fleet) is retried after its hint.
        const decoded = decode(InferReply, reply.data);
        const hint =
          decoded.ok && !decoded.value.ok && decoded.value.error.retryable
            ? (decoded.value.error.retryAfterMs ?? 250)
            : undefined;
        if (hint === undefined || performance.now() + hint >= deadlineMs || this.refusalsRetried >= this.sentCount * 3)
          return reply;
        this.refusalsRetried++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(hint, 1000)));
        continue;
      } catch (err) {
        const noResponders = err instanceof RequestError && err.isNoResponders();
        const timedOut =
          err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError);
        if (!(noResponders || timedOut) || performance.now() + backoffMs >= deadlineMs) throw err;
        if (timedOut) this.resentAfterTimeout++;
        else this.retries++;
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 500);
      }
    }
  }

  private interArrivalMs(): number {
    return (-Math.log(1 - this.rng()) * 1000) / this.ratePerS;
  }

  private pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.rng() * items.length)];
    if (item === undefined) throw new RangeError('cannot pick from an empty list');
    return item;
  }

  private pickWeighted<T extends { readonly weight: number }>(items: readonly T[]): T {
    const total = items.reduce((sum, item) => sum + item.weight, 0);
    let r = this.rng() * total;
    for (const item of items) {
      r -= item.weight;
      if (r <= 0) return item;
    }
    return this.pick(items);
  }

  private sendOne(): void {
    const size = this.pick(this.mix.sizes);
    const model = this.pickWeighted(this.mix.models).name;
    const r = this.rng();
    const priority: Priority = r < 0.2 ? 'high' : r < 0.9 ? 'normal' : 'low';
    const slo = this.mix.classes === undefined ? undefined : this.pickWeighted(this.mix.classes);
    const sloClass: SloClass = slo?.sloClass ?? 'interactive';
    const region = this.mix.regions === undefined ? undefined : this.pickWeighted(this.mix.regions).name;
    const request: InferRequestInput = {
      v: 1,
      model,
      inputTokens: Math.max(1, Math.min(this.mix.maxInputTokens, size.inputTokens)),
      maxOutputTokens: Math.max(1, Math.min(this.mix.maxOutputTokens, size.outputTokens)),
      priority,
      sloClass,
      idempotencyKey: `req-${this.sentCount + 1}`,
      ...(region === undefined ? {} : { region }),
      ...(slo?.deadlineMs === undefined ? {} : { deadlineAfterMs: slo.deadlineMs }),
    };
    const tags = { model, sloClass, ...(region === undefined ? {} : { region }) };
    this.sentCount++;
    this.inFlightCount++;
    const sentAtMs = performance.now();
    const done = this.send(encode(request), sentAtMs + this.clientTimeoutMs)
      .then(
        (reply) => {
          const latencyMs = performance.now() - sentAtMs;
          const decoded = decode(InferReply, reply.data);
          if (!decoded.ok) return { sentAtMs, latencyMs, code: 'INVALID_REPLY', ...tags };
          const answer = decoded.value;
          if (!answer.ok) return { sentAtMs, latencyMs, code: answer.error.code, ...tags };
          return {
            sentAtMs,
            latencyMs,
            code: 'ok',
            ...tags,
            cluster: answer.cluster,
            ttftMs: answer.timings.ttftMs,
            clientTtftMs: Math.max(answer.timings.ttftMs, latencyMs - (answer.timings.totalMs - answer.timings.ttftMs)),
            outputTokens: answer.outputTokens,
          };
        },
        (err: unknown) => ({
          sentAtMs,
          latencyMs: performance.now() - sentAtMs,
          code: err instanceof RequestError && err.isNoResponders() ? 'NO_SCHEDULER' : 'CLIENT_TIMEOUT',
          ...tags,
        }),
      )
      .then((outcome: RequestOutcome) => {
        this.outcomes.push(outcome);
        this.inFlightCount--;
      });
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}
