import type { SloClass } from '@switchyard/protocol';
import type { TraceRequest } from '../../workload/azure-trace.js';
import { azureLikeSizes, type SizeSampler } from '../../workload/synthetic.js';

/** One SLO class of the stateless stream, its relative weight and the deadline its requests carry. */
export interface ClassShare {
  readonly sloClass: SloClass;
  readonly weight: number;
  /** Sent as `deadlineAfterMs`; none: the scheduler's default deadline. */
  readonly deadlineMs?: number;
}

/** A model the stateless stream asks for, with its relative weight. */
export interface ModelShare {
  readonly name: string;
  readonly weight: number;
}

/** What the stateless stream sends: classes, models and token sizes. */
export interface ScenarioMix {
  readonly classes: readonly ClassShare[];
  readonly models: readonly ModelShare[];
  /** Draws prompt and output lengths; clamped to the caps below (and to at least 1). */
  readonly sizes: SizeSampler;
  /** Where the sizes come from, for the report. */
  readonly sizesSource: string;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
}

/**
 * The default mix, the demo's shares: 60 % interactive, 25 % standard, 15 % batch; Llama 3.1 8B
 * three times as often as Llama 3.3 70B. Deadlines are short enough that an overloaded trial ends
 * within the client timeout instead of queueing for minutes.
 */
export const DEFAULT_CLASSES: readonly ClassShare[] = [
  { sloClass: 'interactive', weight: 0.6 },
  { sloClass: 'standard', weight: 0.25, deadlineMs: 15_000 },
  { sloClass: 'batch', weight: 0.15, deadlineMs: 25_000 },
];

export const DEFAULT_MODELS: readonly ModelShare[] = [
  { name: 'llama-3.1-8b', weight: 3 },
  { name: 'llama-3.3-70b', weight: 1 },
];

/** Samples token sizes uniformly from trace rows (rows with no output are left out: nothing to decode). */
export function traceSizes(rows: readonly TraceRequest[]): SizeSampler {
  const usable = rows.filter((row) => row.outputTokens > 0 && row.inputTokens > 0);
  if (usable.length === 0) throw new RangeError('the trace has no row with both input and output tokens');
  return (rng) => {
    const row = usable[Math.min(usable.length - 1, Math.floor(rng() * usable.length))]!;
    return { inputTokens: row.inputTokens, outputTokens: row.outputTokens };
  };
}

/** The default mix over the given sizes (the Azure-like log-normals when none are given). */
export function defaultMix(
  options: { sizes?: SizeSampler; sizesSource?: string; maxInputTokens?: number; maxOutputTokens?: number } = {},
): ScenarioMix {
  return {
    classes: DEFAULT_CLASSES,
    models: DEFAULT_MODELS,
    sizes: options.sizes ?? azureLikeSizes,
    sizesSource: options.sizesSource ?? 'log-normals fitted to the Azure LLM conversation trace',
    maxInputTokens: options.maxInputTokens ?? 8192,
    maxOutputTokens: options.maxOutputTokens ?? 256,
  };
}

/** Picks an item by relative weight with one draw of `rng`. */
export function pickByWeight<T extends { readonly weight: number }>(items: readonly T[], rng: () => number): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  if (items.length === 0 || !(total > 0)) throw new RangeError('need at least one item with a positive weight');
  let remaining = rng() * total;
  for (const item of items) {
    remaining -= item.weight;
    if (remaining < 0) return item;
  }
  // Rounding can leave a sliver after the last subtraction: the last weighted item takes it.
  return items.findLast((item) => item.weight > 0)!;
}
