import { cpus } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type LoadFleet, type LoadFleetOptions, startLoadFleet } from './load-fleet.js';
import { defaultMix, type ScenarioMix } from './load-mix.js';
import type { LoadOutcome } from './load-outcome.js';
import { breakDown, type OutcomeCounts, type OutcomeSummary } from './load-summary.js';
import type { DispatchReport } from './open-loop-dispatcher.js';
import type { PowerSummary } from './power-sampler.js';
import { type RateSearchOptions, type RateSearchResult, searchMaxSustainableRate } from './rate-search.js';
import { runScenario, type ScenarioOptions } from './scenario-runner.js';

/** Everything a load run needs: the fleet to start and the scenario to drive through it. */
export interface LoadRunOptions
  extends Omit<ScenarioOptions, 'mix' | 'signal'>, Omit<LoadFleetOptions, 'models' | 'seed'> {
  /** Default: `defaultMix()` (the demo's class and model shares, Azure-like sizes). */
  readonly mix?: ScenarioMix;
  /** Aborting (e.g. on SIGINT) stops the run, stops every process, and rejects with LoadRunAbortedError. */
  readonly signal?: AbortSignal;
  /**
   * Unmeasured load first, at the run's (or the search's first) rate with no sessions, so that the
   * first measurement does not include every process's JIT warm-up (default 0: none).
   */
  readonly warmupMs?: number;
  /** Told what is happening (fleet up, trial results), one line at a time. */
  readonly onProgress?: (line: string) => void;
}

/** The machine a run was measured on. */
export interface LoadMachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
}

/** The measured result of one load run. All latencies are HDR percentiles in ms. */
export interface LoadRunResult {
  readonly startedAt: string;
  readonly machine: LoadMachineInfo;
  readonly config: {
    readonly ratePerS: number;
    readonly durationMs: number;
    readonly seed: number;
    readonly sessions: number;
    readonly thinkMeanMs: number;
    readonly clientTimeoutMs: number;
    readonly agents: number;
    readonly nodes: number;
    readonly profile: string;
    readonly sizesSource: string;
    readonly maxInputTokens: number;
    readonly maxOutputTokens: number;
    readonly classes: ScenarioMix['classes'];
    readonly models: ScenarioMix['models'];
  };
  readonly throughput: {
    /** Stateless requests planned / duration. */
    readonly offeredPerS: number;
    /** Stateless requests actually sent / duration. */
    readonly sentPerS: number;
    /**
     * Stateless requests answered / duration: the goodput of the load window (every request sent in
     * it is waited for, so a system that keeps up answers what was offered).
     */
    readonly answeredPerS: number;
    /** Session turns answered / duration. */
    readonly sessionTurnsPerS: number;
    /** From the start of load until the last request ended (load, then settling). */
    readonly elapsedMs: number;
  };
  /** Stateless requests in the timeline. */
  readonly planned: number;
  readonly dispatch: DispatchReport;
  /** Stateless requests and session turns together: answered + errors + timeouts = sent. */
  readonly all: OutcomeCounts;
  readonly stateless: OutcomeSummary;
  readonly sessions: OutcomeSummary;
  readonly byClass: Readonly<Record<string, OutcomeSummary>>;
  /** The agents' reported draw, read from the scheduler's fleet status while load was offered. */
  readonly power: PowerSummary;
  /** Every request and turn, with the node's timings where answered (per-request TTFT for calibration). */
  readonly outcomes: readonly LoadOutcome[];
}

function machineInfo(): LoadMachineInfo {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version };
}

function scenarioOf(options: LoadRunOptions, mix: ScenarioMix, ratePerS: number): ScenarioOptions {
  return {
    ratePerS,
    durationMs: options.durationMs,
    seed: options.seed,
    mix,
    sessions: options.sessions,
    thinkMeanMs: options.thinkMeanMs,
    clientTimeoutMs: options.clientTimeoutMs,
    ...(options.sessionModel === undefined ? {} : { sessionModel: options.sessionModel }),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.powerSampleIntervalMs === undefined ? {} : { powerSampleIntervalMs: options.powerSampleIntervalMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

/** Runs one scenario on a connected, started fleet and summarises it. */
async function measure(
  nc: NatsConnection,
  fleet: LoadFleet,
  options: LoadRunOptions,
  mix: ScenarioMix,
  ratePerS: number,
): Promise<LoadRunResult> {
  const startedAt = new Date().toISOString();
  const run = await runScenario(nc, scenarioOf(options, mix, ratePerS));
  const { stateless, sessions, byClass } = breakDown(run.outcomes);
  const durationS = options.durationMs / 1000;
  return {
    startedAt,
    machine: machineInfo(),
    config: {
      ratePerS,
      durationMs: options.durationMs,
      seed: options.seed,
      sessions: run.sessionsOpened,
      thinkMeanMs: options.thinkMeanMs,
      clientTimeoutMs: options.clientTimeoutMs,
      agents: options.agents,
      nodes: fleet.nodes,
      profile: options.profile ?? 'h100',
      sizesSource: mix.sizesSource,
      maxInputTokens: mix.maxInputTokens,
      maxOutputTokens: mix.maxOutputTokens,
      classes: mix.classes,
      models: mix.models,
    },
    throughput: {
      offeredPerS: run.planned / durationS,
      sentPerS: run.dispatch.dispatched / durationS,
      answeredPerS: stateless.counts.answered / durationS,
      sessionTurnsPerS: sessions.counts.answered / durationS,
      elapsedMs: run.elapsedMs,
    },
    planned: run.planned,
    dispatch: run.dispatch,
    all: {
      sent: stateless.counts.sent + sessions.counts.sent,
      answered: stateless.counts.answered + sessions.counts.answered,
      errors: stateless.counts.errors + sessions.counts.errors,
      timeouts: stateless.counts.timeouts + sessions.counts.timeouts,
    },
    stateless,
    sessions,
    byClass,
    power: run.power,
    outcomes: run.outcomes,
  };
}

/** Keeps the warm-up's timeline apart from the measured one's. */
const WARMUP_SEED_OFFSET = 1_000_003;

/** Pause after the warm-up and between trials, so that heartbeats report the nodes idle again first. */
const TRIAL_GAP_MS = 1500;

/** Starts the fleet, connects, runs `body`, and always tears everything down (also on abort or failure). */
async function withFleet<T>(
  options: LoadRunOptions,
  mix: ScenarioMix,
  body: (nc: NatsConnection, fleet: LoadFleet) => Promise<T>,
): Promise<T> {
  const fleet = await startLoadFleet({ ...options, models: mix.models.map((m) => m.name), seed: options.seed });
  let nc: NatsConnection | undefined;
  try {
    const { pids } = fleet;
    options.onProgress?.(
      `▸ fleet up: nats-server ${fleet.natsUrl}${pids.natsServer === undefined ? '' : ` (pid ${pids.natsServer})`}, ` +
        `scheduler (pid ${pids.scheduler ?? '?'}), ${options.agents} agent processes (pids ${pids.agents.join(', ')}) ` +
        `hosting ${fleet.nodes} ${options.profile ?? 'h100'} nodes; logs in ${options.logDir}`,
    );
    nc = await connect({ servers: fleet.natsUrl, name: 'load-client' });
    const warmupMs = options.warmupMs ?? 0;
    if (warmupMs > 0) {
      const warmup = await runScenario(nc, {
        ...scenarioOf(options, mix, options.ratePerS),
        durationMs: warmupMs,
        sessions: 0,
        seed: options.seed + WARMUP_SEED_OFFSET,
      });
      const answered = warmup.outcomes.filter((o) => o.kind === 'answered').length;
      options.onProgress?.(
        `▸ warm-up: ${answered}/${warmup.outcomes.length} requests answered in ${(warmupMs / 1000).toFixed(1)} s (not measured)`,
      );
      await new Promise((resolve) => setTimeout(resolve, TRIAL_GAP_MS));
    }
    return await body(nc, fleet);
  } finally {
    await nc?.close().catch(() => undefined);
    await fleet.stop();
  }
}

/**
 * Starts nats-server, the scheduler and the agents as real processes, warms them up if asked, drives one open-loop scenario
 * (stateless Poisson stream plus agent sessions) through them, stops everything, and returns the
 * measurements: throughput, e2e / scheduler-hop / TTFT percentiles, counts per class and code, the
 * fleet's mean power draw, and every request's outcome. For the capacity planner's calibration.
 */
export async function runLoadScenario(options: LoadRunOptions): Promise<LoadRunResult> {
  const mix = options.mix ?? defaultMix();
  return withFleet(options, mix, (nc, fleet) => measure(nc, fleet, options, mix, options.ratePerS));
}

/** Which p99 a rate must keep under its target. */
export type RateGate = 'e2e' | 'scheduler-hop';

/** A max-sustainable-rate search and the run behind each of its trials (without per-request outcomes). */
export interface LoadSearchResult {
  readonly gate: RateGate;
  readonly search: RateSearchResult;
  readonly runs: readonly Omit<LoadRunResult, 'outcomes'>[];
}

/** Leaves out the per-request outcomes (for reports and JSON files). */
export function withoutOutcomes(result: LoadRunResult): Omit<LoadRunResult, 'outcomes'> {
  const { outcomes: _omitted, ...rest } = result;
  return rest;
}

/** The gated p99 and the failure share of a run, as the rate search judges it. */
export function trialMeasurement(
  result: Omit<LoadRunResult, 'outcomes'>,
  gate: RateGate,
): {
  p99Ms: number;
  failureShare: number;
} {
  const latency = result.stateless.latency;
  const { sent, errors, timeouts } = result.all;
  return {
    p99Ms: gate === 'e2e' ? latency.e2e.p99Ms : latency.schedulerHop.p99Ms,
    failureShare: sent === 0 ? 0 : (errors + timeouts) / sent,
  };
}

/**
 * Finds the highest stateless rate whose gated p99 holds the target (see searchMaxSustainableRate),
 * one scenario per trial, on one fleet started once; each trial ends with every request settled.
 */
export async function runLoadSearch(
  options: LoadRunOptions,
  search: Omit<RateSearchOptions, 'startRatePerS'> & { readonly gate: RateGate },
): Promise<LoadSearchResult> {
  const mix = options.mix ?? defaultMix();
  const runs: Omit<LoadRunResult, 'outcomes'>[] = [];
  return withFleet(options, mix, async (nc, fleet) => {
    const result = await searchMaxSustainableRate(
      async (ratePerS) => {
        if (runs.length > 0) await new Promise((resolve) => setTimeout(resolve, TRIAL_GAP_MS));
        const run = withoutOutcomes(await measure(nc, fleet, options, mix, ratePerS));
        runs.push(run);
        const trial = trialMeasurement(run, search.gate);
        options.onProgress?.(
          `  trial ${ratePerS} req/s: ${search.gate} p99 ${Math.round(trial.p99Ms)} ms, ` +
            `${(100 * trial.failureShare).toFixed(1)}% failed, answered ${run.throughput.answeredPerS.toFixed(1)} req/s`,
        );
        return trial;
      },
      { ...search, startRatePerS: options.ratePerS },
    );
    return { gate: search.gate, search: result, runs };
  });
}
