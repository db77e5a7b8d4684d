import { type WeightedScorer, PlacementFramework } from './framework.js';
import { batchHeadroomScorer } from './plugins/batch-headroom/batch-headroom.js';
import { randomPicker, roundRobinPicker } from './plugins/baseline-pickers/baseline-pickers.js';
import { maxScorePicker } from './plugins/max-score/max-score.js';
import { memoryFitFilter } from './plugins/memory-fit/memory-fit.js';
import { modelSupportedFilter } from './plugins/model-supported/model-supported.js';
import { powerBudgetFilter } from './plugins/power-budget/power-budget.js';
import { predictedLatencyScorer } from './plugins/predicted-latency/predicted-latency.js';
import { queueRoomFilter } from './plugins/queue-room/queue-room.js';
import { schedulableFilter } from './plugins/schedulable/schedulable.js';
import { sloAwareScorer } from './plugins/slo-aware/slo-aware.js';
import type { Filter, Picker, Scorer } from './types.js';

/** Numeric parameters a plugin accepts, by name. */
type NumericParams = Readonly<Record<string, number>>;

interface PluginDefinition<T> {
  /** Parameter names the plugin accepts; anything else is a configuration error. */
  readonly params: readonly string[];
  readonly create: (params: NumericParams) => T;
}

/** Every plugin the scheduler can be configured with, by the name configuration uses. */
export interface PluginRegistry {
  readonly filters: Readonly<Record<string, PluginDefinition<Filter>>>;
  readonly scorers: Readonly<Record<string, PluginDefinition<Scorer>>>;
  readonly pickers: Readonly<Record<string, PluginDefinition<Picker>>>;
}

/** The built-in plugins. Registered here explicitly, never by import side effects. */
export const BUILTIN_PLUGINS: PluginRegistry = {
  filters: {
    schedulable: { params: [], create: () => schedulableFilter() },
    'model-supported': { params: [], create: () => modelSupportedFilter() },
    'queue-room': { params: ['queueFactor'], create: (p) => queueRoomFilter(p) },
    'memory-fit': { params: [], create: () => memoryFitFilter() },
    'power-budget': { params: [], create: () => powerBudgetFilter() },
  },
  scorers: {
    'predicted-latency': { params: ['halfScoreMs'], create: (p) => predictedLatencyScorer(p) },
    'batch-headroom': { params: [], create: () => batchHeadroomScorer() },
    'slo-aware': {
      params: ['interactiveTtftMs', 'standardTotalMs', 'batchTotalMs', 'joulesPerTokenRef', 'steerPenalty'],
      create: (p) => sloAwareScorer(p),
    },
  },
  pickers: {
    'max-score': { params: [], create: () => maxScorePicker() },
    random: { params: [], create: () => randomPicker() },
    'round-robin': { params: [], create: () => roundRobinPicker() },
  },
};

/** A plugin by name, with optional numeric parameters. */
export interface PluginRef {
  readonly name: string;
  readonly params?: NumericParams;
}

/** Which plugins placement runs, in order, with scorer weights. */
export interface PlacementConfig {
  readonly filters: readonly (string | PluginRef)[];
  readonly scorers: readonly (PluginRef & { readonly weight: number })[];
  readonly picker: string | PluginRef;
}

/**
 * The default pipeline: cheapest filters first, the power budget last (it needs the estimate);
 * one SLO-aware scorer, so that its tiers (meets the SLO, then least energy) stay strict.
 */
export const DEFAULT_PLACEMENT_CONFIG: PlacementConfig = {
  filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit', 'power-budget'],
  scorers: [{ name: 'slo-aware', weight: 1 }],
  picker: 'max-score',
};

/** The pipeline before SLO classes and power: latency first, headroom to spread ties (kept for comparison). */
export const LATENCY_PLACEMENT_CONFIG: PlacementConfig = {
  filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit'],
  scorers: [
    { name: 'predicted-latency', weight: 1 },
    { name: 'batch-headroom', weight: 0.2 },
  ],
  picker: 'max-score',
};

/** Bad placement configuration; raised at start-up, never during a decision. */
export class PlacementConfigError extends Error {
  override readonly name = 'PlacementConfigError';
}

function resolve<T>(kind: string, table: Readonly<Record<string, PluginDefinition<T>>>, ref: string | PluginRef): T {
  const { name, params = {} } = typeof ref === 'string' ? { name: ref } : ref;
  const definition = Object.hasOwn(table, name) ? table[name] : undefined;
  if (definition === undefined) {
    throw new PlacementConfigError(`unknown ${kind} "${name}"; known: ${Object.keys(table).join(', ')}`);
  }
  for (const [key, value] of Object.entries(params)) {
    if (!definition.params.includes(key)) {
      throw new PlacementConfigError(
        `${kind} "${name}" has no parameter "${key}"` +
          (definition.params.length > 0 ? `; it accepts ${definition.params.join(', ')}` : '; it takes none'),
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new PlacementConfigError(`${kind} "${name}" parameter "${key}" must be a finite number`);
    }
  }
  try {
    return definition.create(params);
  } catch (err) {
    throw new PlacementConfigError(`${kind} "${name}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Builds the placement pipeline, failing fast on unknown plugins, bad parameters, weights or duplicates. */
export function buildPlacement(
  config: PlacementConfig = DEFAULT_PLACEMENT_CONFIG,
  registry: PluginRegistry = BUILTIN_PLUGINS,
): PlacementFramework {
  const seen = new Set<string>();
  const once = (kind: string, name: string): void => {
    if (seen.has(`${kind}:${name}`)) throw new PlacementConfigError(`${kind} "${name}" is configured twice`);
    seen.add(`${kind}:${name}`);
  };
  const filters = config.filters.map((ref) => {
    const filter = resolve('filter', registry.filters, ref);
    once('filter', filter.name);
    return filter;
  });
  if (config.scorers.length === 0) throw new PlacementConfigError('at least one scorer is required');
  const scorers: WeightedScorer[] = config.scorers.map((ref) => {
    if (typeof ref.weight !== 'number' || !(ref.weight > 0) || !Number.isFinite(ref.weight)) {
      throw new PlacementConfigError(`scorer "${ref.name}" needs a positive finite weight, got ${String(ref.weight)}`);
    }
    const scorer = resolve('scorer', registry.scorers, ref);
    once('scorer', scorer.name);
    return { scorer, weight: ref.weight };
  });
  const picker = resolve('picker', registry.pickers, config.picker);
  return new PlacementFramework(filters, scorers, picker);
}
