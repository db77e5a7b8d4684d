import { createRng } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { nodeRecord, placementRequest } from '../test-fixtures.js';
import {
  BUILTIN_PLUGINS,
  buildPlacement,
  DEFAULT_PLACEMENT_CONFIG,
  type PlacementConfig,
  PlacementConfigError,
  type PluginRegistry,
} from './registry.js';

const config = (patch: Partial<PlacementConfig>): PlacementConfig => ({ ...DEFAULT_PLACEMENT_CONFIG, ...patch });
/** For values the types forbid but hand-written JSON configuration can still contain. */
const untyped = (value: unknown): never => value as never;

describe('buildPlacement rejects bad configuration', () => {
  const cases: { name: string; config: PlacementConfig; message: RegExp }[] = [
    {
      name: 'unknown filter',
      config: config({ filters: ['schedulable', 'gpu-vibes'] }),
      message:
        /^unknown filter "gpu-vibes"; known: schedulable, model-supported, queue-room, memory-fit, power-budget$/,
    },
    {
      name: 'inherited property as filter name',
      config: config({ filters: ['toString'] }),
      message: /^unknown filter "toString"/,
    },
    {
      name: 'unknown scorer',
      config: config({ scorers: [{ name: 'vibes', weight: 1 }] }),
      message: /^unknown scorer "vibes"; known: predicted-latency, batch-headroom, slo-aware$/,
    },
    {
      name: 'unknown picker',
      config: config({ picker: 'roulette' }),
      message: /^unknown picker "roulette"; known: max-score, random, round-robin$/,
    },
    {
      name: 'unknown picker by ref',
      config: config({ picker: { name: 'first' } }),
      message: /^unknown picker "first"/,
    },
    {
      name: 'unknown parameter',
      config: config({ filters: [{ name: 'queue-room', params: { depth: 2 } }] }),
      message: /^filter "queue-room" has no parameter "depth"; it accepts queueFactor$/,
    },
    {
      name: 'parameter for a plugin that takes none',
      config: config({ filters: [{ name: 'schedulable', params: { strict: 1 } }] }),
      message: /^filter "schedulable" has no parameter "strict"; it takes none$/,
    },
    {
      name: 'unknown scorer parameter',
      config: config({ scorers: [{ name: 'predicted-latency', weight: 1, params: { halfScore: 5 } }] }),
      message: /^scorer "predicted-latency" has no parameter "halfScore"; it accepts halfScoreMs$/,
    },
    {
      name: 'string parameter',
      config: config({ filters: [{ name: 'queue-room', params: untyped({ queueFactor: '2' }) }] }),
      message: /^filter "queue-room" parameter "queueFactor" must be a finite number$/,
    },
    {
      name: 'NaN parameter',
      config: config({ scorers: [{ name: 'predicted-latency', weight: 1, params: { halfScoreMs: Number.NaN } }] }),
      message: /^scorer "predicted-latency" parameter "halfScoreMs" must be a finite number$/,
    },
    {
      name: 'infinite parameter',
      config: config({ filters: [{ name: 'queue-room', params: { queueFactor: Number.POSITIVE_INFINITY } }] }),
      message: /must be a finite number/,
    },
    {
      name: 'parameter the plugin refuses',
      config: config({ filters: [{ name: 'queue-room', params: { queueFactor: -1 } }] }),
      message: /^filter "queue-room": queue-room: queueFactor must be ≥ 0, got -1$/,
    },
    {
      name: 'zero halfScoreMs',
      config: config({ scorers: [{ name: 'predicted-latency', weight: 1, params: { halfScoreMs: 0 } }] }),
      message: /^scorer "predicted-latency": predicted-latency: halfScoreMs must be > 0, got 0$/,
    },
    {
      name: 'zero weight',
      config: config({ scorers: [{ name: 'batch-headroom', weight: 0 }] }),
      message: /^scorer "batch-headroom" needs a positive finite weight, got 0$/,
    },
    {
      name: 'negative weight',
      config: config({ scorers: [{ name: 'batch-headroom', weight: -1 }] }),
      message: /positive finite weight, got -1$/,
    },
    {
      name: 'NaN weight',
      config: config({ scorers: [{ name: 'batch-headroom', weight: Number.NaN }] }),
      message: /positive finite weight, got NaN$/,
    },
    {
      name: 'infinite weight',
      config: config({ scorers: [{ name: 'batch-headroom', weight: Number.POSITIVE_INFINITY }] }),
      message: /positive finite weight, got Infinity$/,
    },
    {
      name: 'missing weight',
      config: config({ scorers: [untyped({ name: 'batch-headroom' })] }),
      message: /^scorer "batch-headroom" needs a positive finite weight, got undefined$/,
    },
    {
      name: 'string weight',
      config: config({ scorers: [untyped({ name: 'batch-headroom', weight: '1' })] }),
      message: /positive finite weight, got 1$/,
    },
    {
      name: 'duplicate filter',
      config: config({ filters: ['schedulable', 'memory-fit', { name: 'schedulable' }] }),
      message: /^filter "schedulable" is configured twice$/,
    },
    {
      name: 'duplicate scorer',
      config: config({
        scorers: [
          { name: 'batch-headroom', weight: 1 },
          { name: 'batch-headroom', weight: 2 },
        ],
      }),
      message: /^scorer "batch-headroom" is configured twice$/,
    },
    { name: 'no scorers', config: config({ scorers: [] }), message: /^at least one scorer is required$/ },
  ];

  it.each(cases)('$name', ({ config: bad, message }) => {
    let thrown: unknown;
    try {
      buildPlacement(bad);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PlacementConfigError);
    expect((thrown as Error).name).toBe('PlacementConfigError');
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('buildPlacement builds valid configuration', () => {
  it('builds the default pipeline in configured order', () => {
    const framework = buildPlacement();
    expect(framework.filters.map((f) => f.name)).toEqual([
      'schedulable',
      'model-supported',
      'queue-room',
      'memory-fit',
      'power-budget',
    ]);
    expect(framework.scorers.map((s) => [s.scorer.name, s.weight])).toEqual([['slo-aware', 1]]);
    expect(framework.picker.name).toBe('max-score');
  });

  it('builds a custom config whose parameters take effect', () => {
    const framework = buildPlacement({
      filters: [{ name: 'queue-room', params: { queueFactor: 0 } }, 'schedulable'],
      scorers: [{ name: 'batch-headroom', weight: 2 }],
      picker: { name: 'max-score', params: {} },
    });
    expect(framework.filters.map((f) => f.name)).toEqual(['queue-room', 'schedulable']);
    // queueFactor 0: a node whose batch is exactly full has no queue room.
    const full = nodeRecord({ profile: 'l4', loaded: ['llama-3.1-8b'], maxBatchSize: 256, inFlight: 256 });
    const decision = framework.place(placementRequest(), { nodes: [full] }, { nowMs: 0, rng: createRng(1) });
    expect(decision).toMatchObject({ ok: false, code: 'NO_CAPACITY', rejectedBy: { 'queue-room': 1 } });
    // The default (queueFactor 4) admits it.
    expect(buildPlacement().place(placementRequest(), { nodes: [full] }, { nowMs: 0, rng: createRng(1) }).ok).toBe(
      true,
    );
  });

  it('builds plugins from a custom registry by name', () => {
    const registry: PluginRegistry = {
      ...BUILTIN_PLUGINS,
      scorers: {
        ...BUILTIN_PLUGINS.scorers,
        constant: { params: ['value'], create: (p) => ({ name: 'constant', score: () => p['value'] ?? 0 }) },
      },
    };
    const framework = buildPlacement(
      config({ scorers: [{ name: 'constant', weight: 1, params: { value: 0.3 } }] }),
      registry,
    );
    const decision = framework.place(
      placementRequest(),
      { nodes: [nodeRecord({ profile: 'l4' })] },
      { nowMs: 0, rng: createRng(1) },
    );
    expect(decision.ok && decision.score).toBeCloseTo(0.3, 12);
    // Custom names are unknown to the built-in registry.
    expect(() => buildPlacement(config({ scorers: [{ name: 'constant', weight: 1 }] }))).toThrow(PlacementConfigError);
  });
});
