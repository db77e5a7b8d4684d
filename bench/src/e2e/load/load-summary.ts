import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { LOAD_CLASSES, type LoadClass, type LoadOutcome } from './load-outcome.js';

/** How many requests of a kind were sent and how they ended; answered + errors + timeouts = sent. */
export interface OutcomeCounts {
  readonly sent: number;
  readonly answered: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** Latency series of a set of requests (answered ones only, except `e2eAll`). */
export interface LatencySeries {
  /** Intended send time → answer. */
  readonly e2e: LatencySummary;
  /** Intended send time → end, whatever the end (answer, error, timeout): what a caller waited. */
  readonly e2eAll: LatencySummary;
  /** Stateless only: e2e less the node's totalMs (NATS hops, scheduler queueing and placement, send lag). */
  readonly schedulerHop: LatencySummary;
  /** e2e less the node's decode time. */
  readonly clientTtft: LatencySummary;
  /** TTFT as the node measured it (accepted → first token). */
  readonly nodeTtft: LatencySummary;
  /** Intended → actual send time (the client falling behind its own timeline). */
  readonly sendLag: LatencySummary;
}

/** Counts and latencies of a set of outcomes. */
export interface OutcomeSummary {
  readonly counts: OutcomeCounts;
  readonly errorsByCode: Readonly<Record<string, number>>;
  readonly latency: LatencySeries;
}

/** Counts, codes and HDR percentiles of `outcomes`. */
export function summarizeOutcomes(outcomes: readonly LoadOutcome[]): OutcomeSummary {
  const recorders = {
    e2e: new LatencyRecorder(),
    e2eAll: new LatencyRecorder(),
    schedulerHop: new LatencyRecorder(),
    clientTtft: new LatencyRecorder(),
    nodeTtft: new LatencyRecorder(),
    sendLag: new LatencyRecorder(),
  };
  const errorsByCode: Record<string, number> = {};
  let answered = 0;
  let errors = 0;
  let timeouts = 0;
  for (const outcome of outcomes) {
    recorders.e2eAll.recordMs(outcome.latencyMs);
    recorders.sendLag.recordMs(outcome.sendLagMs);
    if (outcome.kind === 'answered') {
      answered++;
      recorders.e2e.recordMs(outcome.latencyMs);
      if (outcome.schedulerHopMs !== undefined) recorders.schedulerHop.recordMs(outcome.schedulerHopMs);
      if (outcome.clientTtftMs !== undefined) recorders.clientTtft.recordMs(outcome.clientTtftMs);
      if (outcome.nodeTimings !== undefined) recorders.nodeTtft.recordMs(outcome.nodeTimings.ttftMs);
      continue;
    }
    if (outcome.kind === 'timeout') timeouts++;
    else errors++;
    errorsByCode[outcome.code] = (errorsByCode[outcome.code] ?? 0) + 1;
  }
  return {
    counts: { sent: outcomes.length, answered, errors, timeouts },
    errorsByCode,
    latency: {
      e2e: recorders.e2e.summary(),
      e2eAll: recorders.e2eAll.summary(),
      schedulerHop: recorders.schedulerHop.summary(),
      clientTtft: recorders.clientTtft.summary(),
      nodeTtft: recorders.nodeTtft.summary(),
      sendLag: recorders.sendLag.summary(),
    },
  };
}

/** Summaries of the stateless stream, the sessions, and each class. */
export interface LoadBreakdown {
  readonly stateless: OutcomeSummary;
  readonly sessions: OutcomeSummary;
  readonly byClass: Readonly<Record<LoadClass, OutcomeSummary>>;
}

export function breakDown(outcomes: readonly LoadOutcome[]): LoadBreakdown {
  const byClass = Object.fromEntries(
    LOAD_CLASSES.map((loadClass) => [loadClass, summarizeOutcomes(outcomes.filter((o) => o.loadClass === loadClass))]),
  ) as Record<LoadClass, OutcomeSummary>;
  return {
    stateless: summarizeOutcomes(outcomes.filter((o) => o.loadClass !== 'session')),
    sessions: byClass.session,
    byClass,
  };
}
