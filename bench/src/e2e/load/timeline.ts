import { createRng } from '@switchyard/fleet-model';
import type { SloClass } from '@switchyard/protocol';
import { poisson } from '../../workload/synthetic.js';
import { type ScenarioMix, pickByWeight } from './load-mix.js';

/** One stateless request of the timeline: when it is due and what it asks for. */
export interface PlannedRequest {
  /** Position in the timeline, from 0. */
  readonly index: number;
  /** Intended send time, ms after the run starts. */
  readonly atMs: number;
  readonly sloClass: SloClass;
  readonly model: string;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly deadlineMs?: number;
}

export interface ArrivalPlanOptions {
  readonly ratePerS: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly mix: ScenarioMix;
}

/** Separates the class-and-model draws from the arrival draws, so that changing the mix keeps the arrival times. */
const MIX_SEED_OFFSET = 0x5eed;

/**
 * The whole stateless timeline, computed before the run: Poisson arrivals at `ratePerS` over
 * `durationMs` with sizes from the mix, each given a class and a model. The same options give the
 * same timeline; nothing in it depends on how the system answers (open loop).
 */
export function planArrivals(options: ArrivalPlanOptions): PlannedRequest[] {
  const { mix } = options;
  const arrivals = poisson({
    ratePerSecond: options.ratePerS,
    durationMs: options.durationMs,
    seed: options.seed,
    sizes: mix.sizes,
  });
  const rng = createRng(options.seed + MIX_SEED_OFFSET);
  return arrivals.map((arrival, index) => {
    const share = pickByWeight(mix.classes, rng);
    return {
      index,
      atMs: arrival.arrivalMs,
      sloClass: share.sloClass,
      model: pickByWeight(mix.models, rng).name,
      inputTokens: clampTokens(arrival.inputTokens, mix.maxInputTokens),
      maxOutputTokens: clampTokens(arrival.outputTokens, mix.maxOutputTokens),
      ...(share.deadlineMs === undefined ? {} : { deadlineMs: share.deadlineMs }),
    };
  });
}

function clampTokens(tokens: number, cap: number): number {
  return Math.max(1, Math.min(cap, tokens));
}

/** One turn of an agent session: how long the agent thinks before sending it, and its sizes. */
export interface SessionTurnPlan {
  readonly thinkMs: number;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
}

/**
 * The turns of one agent session, drawn on demand from a seed: exponential think times of mean
 * `thinkMeanMs` and agent-loop sized turns (50–449 new prompt tokens, 20–119 output tokens, as the
 * demo's sessions send). A session is closed-loop by nature (a turn follows the previous answer),
 * so only its think times and sizes can be fixed in advance, not its send times.
 */
export class SessionScript {
  private readonly rng: () => number;

  constructor(
    seed: number,
    readonly sessionIndex: number,
    private readonly thinkMeanMs: number,
  ) {
    if (!(thinkMeanMs >= 0)) throw new RangeError(`thinkMeanMs must be ≥ 0, got ${thinkMeanMs}`);
    this.rng = createRng(seed * 1009 + sessionIndex + 1);
  }

  next(): SessionTurnPlan {
    return {
      thinkMs: -this.thinkMeanMs * Math.log(1 - this.rng()),
      inputTokens: 50 + Math.floor(this.rng() * 400),
      maxOutputTokens: 20 + Math.floor(this.rng() * 100),
    };
  }
}
