import type { NatsConnection } from '@nats-io/transport-node';
import { encode, type InferRequestInput, type SessionInfo, SessionClient, subjects } from '@switchyard/protocol';
import {
  CLIENT_CODES,
  type LoadOutcome,
  type OutcomeContext,
  outcomeOfInferReply,
  outcomeOfRequestError,
  outcomeOfTurnReply,
} from './load-outcome.js';
import type { ScenarioMix } from './load-mix.js';
import { type DispatchReport, dispatchOpenLoop } from './open-loop-dispatcher.js';
import { PowerSampler, type PowerSummary } from './power-sampler.js';
import { type PlannedRequest, planArrivals, SessionScript } from './timeline.js';

/** One load scenario: the open-loop stateless stream and the agent sessions beside it. */
export interface ScenarioOptions {
  /** Stateless requests per second (Poisson arrivals). */
  readonly ratePerS: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly mix: ScenarioMix;
  /** Agent sessions conversing during the run (0: none). */
  readonly sessions: number;
  /** Mean of the exponential think time between a turn's answer and the next turn. */
  readonly thinkMeanMs: number;
  /** Model of the sessions (default: the mix's first model). */
  readonly sessionModel?: string;
  /** A request unanswered this long after its intended send time is a CLIENT_TIMEOUT. */
  readonly clientTimeoutMs: number;
  readonly tenant?: string;
  /** How often the scheduler's fleet status is polled for power (default 500 ms). */
  readonly powerSampleIntervalMs?: number;
  /** Aborting stops sending and waiting; the run then rejects with LoadRunAbortedError. */
  readonly signal?: AbortSignal;
}

/** What a scenario produced, before summarising. */
export interface ScenarioRun {
  /** Stateless requests in the timeline. */
  readonly planned: number;
  readonly dispatch: DispatchReport;
  /** Every request and turn sent, each with how it ended. */
  readonly outcomes: readonly LoadOutcome[];
  readonly sessionsOpened: number;
  /** From the start of load until the last outcome. */
  readonly elapsedMs: number;
  readonly power: PowerSummary;
}

/** The run was aborted (SIGINT, or the caller's signal); nothing was measured to the end. */
export class LoadRunAbortedError extends Error {
  override readonly name = 'LoadRunAbortedError';
  readonly code = 'ABORTED';
}

/** Whether the signal has fired (a function, so that the compiler does not narrow it across awaits). */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs one scenario against a live scheduler on `nc`: opens the sessions, then sends the stateless
 * timeline open-loop while each session converses (think, turn, think, …) until `durationMs`,
 * polls the fleet's power throughout, and waits until every request has ended (answer, error or
 * client timeout). Requests are sent once, never retried (so they carry no idempotency key, which
 * would also let a later trial on the same fleet be answered from an earlier one): a benchmark counts
 * failures, it does not hide them. Sessions are closed at the end.
 */
export async function runScenario(nc: NatsConnection, options: ScenarioOptions): Promise<ScenarioRun> {
  const tenant = options.tenant ?? 'load';
  const timeline = planArrivals({
    ratePerS: options.ratePerS,
    durationMs: options.durationMs,
    seed: options.seed,
    mix: options.mix,
  });
  const sessionClient = new SessionClient(nc, { tenant, requestTimeoutMs: 5000 });
  const sessionModel = options.sessionModel ?? options.mix.models[0]?.name;
  if (options.sessions > 0 && sessionModel === undefined) throw new RangeError('sessions need a model');
  const sessions: SessionInfo[] = [];
  try {
    for (let i = 0; i < options.sessions && !aborted(options.signal); i++)
      sessions.push(await sessionClient.open({ model: sessionModel!, expectedContextTokens: 16_000 }));
    if (aborted(options.signal)) throw new LoadRunAbortedError('load run aborted before the load started');

    const outcomes: LoadOutcome[] = [];
    const pending = new Set<Promise<void>>();
    let lastOutcomeAtMs = 0;
    const startAtMs = performance.now();
    const track = (request: Promise<LoadOutcome>): Promise<void> => {
      const done = request.then((outcome) => {
        outcomes.push(outcome);
        lastOutcomeAtMs = performance.now() - startAtMs;
      });
      pending.add(done);
      void done.finally(() => pending.delete(done));
      return done;
    };
    const request = (
      subject: string,
      body: Uint8Array,
      context: OutcomeContext,
      intendedAtMs: number,
      outcomeOf: (context: OutcomeContext, latencyMs: number, data: Uint8Array) => LoadOutcome,
    ): Promise<LoadOutcome> => {
      const remainingMs = intendedAtMs + options.clientTimeoutMs - performance.now();
      if (remainingMs <= 0)
        return Promise.resolve({
          ...context,
          latencyMs: options.clientTimeoutMs,
          kind: 'timeout',
          code: CLIENT_CODES.timeout,
        });
      return nc.request(subject, body, { timeout: remainingMs }).then(
        (reply) => outcomeOf(context, performance.now() - intendedAtMs, reply.data),
        (err: unknown) => outcomeOfRequestError(context, performance.now() - intendedAtMs, err),
      );
    };

    const power = new PowerSampler(nc, startAtMs, options.powerSampleIntervalMs ?? 500);
    power.start();
    try {
      const sendStateless = (planned: PlannedRequest, intendedAtMs: number): void => {
        const body: InferRequestInput = {
          v: 1,
          model: planned.model,
          inputTokens: planned.inputTokens,
          maxOutputTokens: planned.maxOutputTokens,
          sloClass: planned.sloClass,
          ...(planned.deadlineMs === undefined ? {} : { deadlineAfterMs: planned.deadlineMs }),
        };
        const context: OutcomeContext = {
          loadClass: planned.sloClass,
          model: planned.model,
          intendedAtMs: intendedAtMs - startAtMs,
          sendLagMs: performance.now() - intendedAtMs,
        };
        void track(request(subjects.infer(tenant), encode(body), context, intendedAtMs, outcomeOfInferReply));
      };

      const converse = async (session: SessionInfo, index: number): Promise<void> => {
        // The load runs no faults: a session stays with the node it opened on.
        if (session.ownerNodeId === null) return;
        const turnSubject = subjects.sessionTurn(tenant, session.sessionId, session.ownerNodeId);
        const script = new SessionScript(options.seed, index, options.thinkMeanMs);
        let plan = script.next();
        let intendedAtMs = startAtMs + plan.thinkMs;
        for (let turn = 1; intendedAtMs < startAtMs + options.durationMs; turn++) {
          await sleep(intendedAtMs - performance.now(), options.signal);
          if (aborted(options.signal)) return;
          const context: OutcomeContext = {
            loadClass: 'session',
            model: session.model,
            intendedAtMs: intendedAtMs - startAtMs,
            sendLagMs: performance.now() - intendedAtMs,
          };
          const body = encode({
            v: 1,
            turnKey: `turn-${turn}`,
            inputTokens: plan.inputTokens,
            maxOutputTokens: plan.maxOutputTokens,
          });
          // On abort the conversation ends at once; the turn in flight is left to its timeout.
          await untilAborted(
            track(request(turnSubject, body, context, intendedAtMs, outcomeOfTurnReply)),
            options.signal,
          );
          if (aborted(options.signal)) return;
          plan = script.next();
          intendedAtMs = performance.now() + plan.thinkMs;
        }
      };

      const conversations = sessions.map((session, index) => converse(session, index));
      const dispatch = await dispatchOpenLoop(timeline, sendStateless, {
        startAtMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      await Promise.all(conversations);
      await settle(pending, options.signal);
      if (aborted(options.signal))
        throw new LoadRunAbortedError(
          `load run aborted after ${((performance.now() - startAtMs) / 1000).toFixed(1)} s with ${pending.size} requests in flight`,
        );
      await power.stop();
      return {
        planned: timeline.length,
        dispatch,
        outcomes,
        sessionsOpened: sessions.length,
        elapsedMs: Math.max(lastOutcomeAtMs, options.durationMs),
        power: power.summary(options.durationMs),
      };
    } finally {
      await power.stop();
    }
  } finally {
    if (!aborted(options.signal)) {
      for (const session of sessions) await sessionClient.close(session.sessionId).catch(() => undefined);
    }
  }
}

/** Waits until every pending request has ended, or the signal aborts. */
async function settle(pending: Set<Promise<void>>, signal: AbortSignal | undefined): Promise<void> {
  while (pending.size > 0 && !aborted(signal)) await untilAborted(Promise.all(pending), signal);
}

/** Waits for `work`, or only until `signal` aborts (the work goes on, unawaited). */
function untilAborted(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return work.then(() => undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve();
    if (signal.aborted) resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
