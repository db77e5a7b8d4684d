import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { type NeuronReport, parseNeuronMonitorLine, parseNeuronMonitorReport } from './neuron-monitor-report.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
// Per-core device memory in the trn2 fixture: 8 GiB + 256 MiB + 512 MiB + 64 MiB + 2 GiB (vLLM), 1 GiB + 32 MiB + 16 MiB + 256 MiB (embedder).
const VLLM_CORE_BYTES = 11_609_833_472;
const EMBEDDER_CORE_BYTES = 1_392_508_928;

/** Marks a field to delete in `trn2With`. */
const DELETE = Symbol('delete');
type JsonPath = readonly (string | number)[];

/** The trn2 fixture with the field at each path set to its value (or deleted), on a deep copy. */
function trn2With(...edits: readonly (readonly [JsonPath, unknown])[]): unknown {
  const report = structuredClone(fixture('neuron-monitor-trn2-48xlarge.json'));
  for (const [path, value] of edits) {
    let parent = report as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = path.at(-1)!;
    if (value === DELETE) delete parent[last];
    else parent[last] = value;
  }
  return report;
}

const VLLM = ['neuron_runtime_data', 0] as const;
const EMBEDDER = ['neuron_runtime_data', 1] as const;

/** What `run` threw, or the string 'nothing thrown'. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return 'nothing thrown';
}

/** True when parsing `json` gives a report with utilisations in 0..1, or fails with PROBE_OUTPUT. */
function parsesSafely(json: unknown): boolean {
  let report: NeuronReport;
  try {
    report = parseNeuronMonitorReport(json);
  } catch (err) {
    return err instanceof ProbeError && err.code === 'PROBE_OUTPUT';
  }
  return report.devices.every((d) => d.utilization === undefined || (d.utilization >= 0 && d.utilization <= 1));
}

describe('parseNeuronMonitorReport', () => {
  it('reads a trn2.48xlarge report: cores map to devices four by four, idle devices read 0', () => {
    const report = parseNeuronMonitorReport(fixture('neuron-monitor-trn2-48xlarge.json'));
    expect(report.instanceType).toBe('trn2.48xlarge');
    expect(report.hardware).toEqual({
      deviceType: 'trainium2',
      deviceCount: 16,
      deviceMemoryBytes: 96 * GiB,
      neuroncoresPerDevice: 4,
    });
    expect(report.devices).toHaveLength(16);
    // vLLM holds logical cores 0-7 (devices 0 and 1), the embedder cores 8-9 (half of device 2).
    expect(report.devices[0]).toEqual({ index: 0, utilization: 0.81, memoryUsedBytes: 4 * VLLM_CORE_BYTES });
    expect(report.devices[1]).toEqual({ index: 1, utilization: 0.4, memoryUsedBytes: 4 * VLLM_CORE_BYTES });
    expect(report.devices[2]).toEqual({ index: 2, utilization: 0.05, memoryUsedBytes: 2 * EMBEDDER_CORE_BYTES });
    for (const device of report.devices.slice(3)) {
      expect(device).toEqual({ index: device.index, utilization: 0, memoryUsedBytes: 0 });
    }
  });

  it('reads an older trn1.2xlarge report without device type or memory size, ignoring a failed group it does not use', () => {
    const report = parseNeuronMonitorReport(fixture('neuron-monitor-trn1-2xlarge.json'));
    expect(report.hardware).toEqual({
      deviceType: undefined,
      deviceCount: 1,
      deviceMemoryBytes: undefined,
      neuroncoresPerDevice: 2,
    });
    // Core 0 at 63.2 %, core 1 idle; 96 MiB + 48 MiB + 900 KiB on each core.
    expect(report.devices).toEqual([{ index: 0, utilization: 0.316, memoryUsedBytes: 2 * (144 * MiB + 900 * 1024) }]);
  });

  it('leaves memory undefined when an application memory group reports an error, keeping utilisation', () => {
    const report = parseNeuronMonitorReport(fixture('neuron-monitor-error-sections.json'));
    expect(report.hardware?.deviceType).toBe('inferentia2');
    expect(report.devices.map((d) => d.utilization)).toEqual([0.5, 0.5, 0, 0, 0, 0]);
    expect(report.devices.every((d) => d.memoryUsedBytes === undefined)).toBe(true);
  });

  it('gives no devices when the hardware section reports an error and runtime data is null', () => {
    const report = parseNeuronMonitorReport(fixture('neuron-monitor-null-sections.json'));
    expect(report.hardware).toBeUndefined();
    expect(report.devices).toEqual([]);
    expect(report.instanceType).toBe('trn2.48xlarge');
  });

  it.each([
    [
      'an application entry carries an error and no report',
      [
        [[...EMBEDDER, 'error'], 'rpc error: connection refused'],
        [[...EMBEDDER, 'report'], null],
      ],
      { utilization: undefined, memory: undefined },
    ],
    [
      'neuroncore_counters is null',
      [[[...VLLM, 'report', 'neuroncore_counters'], null]],
      { utilization: undefined, memory: 4 * VLLM_CORE_BYTES },
    ],
    [
      'neuroncore_counters is missing',
      [[[...VLLM, 'report', 'neuroncore_counters'], DELETE]],
      { utilization: undefined, memory: 4 * VLLM_CORE_BYTES },
    ],
    [
      'memory_used carries an error',
      [[[...EMBEDDER, 'report', 'memory_used', 'error'], 'timed out']],
      { utilization: 0.81, memory: undefined },
    ],
    [
      'a core utilisation is not a number',
      [[[...VLLM, 'report', 'neuroncore_counters', 'neuroncores_in_use', '3', 'neuroncore_utilization'], 'n/a']],
      { utilization: undefined, memory: 4 * VLLM_CORE_BYTES },
    ],
    [
      'a core key is not an index',
      [[[...EMBEDDER, 'report', 'neuroncore_counters', 'neuroncores_in_use', 'core-x'], {}]],
      { utilization: undefined, memory: 4 * VLLM_CORE_BYTES },
    ],
    [
      'a memory category is null',
      [
        [
          [
            ...VLLM,
            'report',
            'memory_used',
            'neuron_runtime_used_bytes',
            'usage_breakdown',
            'neuroncore_memory_usage',
            '0',
            'tensors',
          ],
          null,
        ],
      ],
      { utilization: 0.81, memory: undefined },
    ],
    ['neuron_runtime_data is null', [[['neuron_runtime_data'], null]], { utilization: undefined, memory: undefined }],
    ['no application runs', [[['neuron_runtime_data'], []]], { utilization: 0, memory: 0 }],
  ] as const)('when %s, the figures it feeds are undefined and the rest stand', (_case, edits, device0) => {
    const report = parseNeuronMonitorReport(trn2With(...edits));
    expect(report.devices).toHaveLength(16);
    expect(report.devices[0]?.utilization).toBe(device0.utilization);
    expect(report.devices[0]?.memoryUsedBytes).toBe(device0.memory);
  });

  it('sums a core over applications and caps it at fully busy', () => {
    const report = parseNeuronMonitorReport(
      trn2With([
        [...EMBEDDER, 'report', 'neuroncore_counters', 'neuroncores_in_use', '0'],
        { neuroncore_utilization: 60 },
      ]),
    );
    // Core 0 was 81.5 % for vLLM; +60 % caps at 100: (100 + 78.25 + 90 + 74.25) / 4.
    expect(report.devices[0]?.utilization).toBeCloseTo(0.85625, 10);
  });

  it.each([
    ['the hardware section is null', ['neuron_hardware_info'], null],
    ['the hardware section reports an error', ['neuron_hardware_info', 'error'], 'driver not loaded'],
    ['the device count is not a number', ['neuron_hardware_info', 'neuron_device_count'], '16'],
  ] as const)('gives no per-device figures when %s', (_case, path, value) => {
    expect(parseNeuronMonitorReport(trn2With([path, value])).devices).toEqual([]);
  });

  it('keeps device count but no figures when cores per device is unknown', () => {
    const report = parseNeuronMonitorReport(
      trn2With([['neuron_hardware_info', 'neuroncore_per_device_count'], DELETE]),
    );
    expect(report.devices).toHaveLength(16);
    expect(report.devices[0]).toEqual({ index: 0, utilization: undefined, memoryUsedBytes: undefined });
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'report'],
    ['an empty array', []],
    ['an array of reports', [{ neuron_hardware_info: {} }]],
    ['an empty object', {}],
    ['an object with instance_info only', { instance_info: {} }],
    ['an unrelated object', { unrelated: true }],
  ])('refuses %s as not a report (PROBE_OUTPUT)', (_case, json) => {
    expect(thrownBy(() => parseNeuronMonitorReport(json))).toMatchObject({ name: 'ProbeError', code: 'PROBE_OUTPUT' });
  });

  it('never throws anything but PROBE_OUTPUT and keeps utilisation within 0..1, whatever the input', () => {
    const sections = fc.oneof(fc.constant(null), fc.jsonValue(), fc.constant({ error: 'boom' }));
    const reportLike = fc.record(
      {
        neuron_hardware_info: fc.oneof(
          sections,
          fc.record({
            neuron_device_count: fc.integer({ min: -1, max: 4 }),
            neuroncore_per_device_count: fc.integer({ min: -1, max: 4 }),
          }),
        ),
        neuron_runtime_data: fc.oneof(
          sections,
          fc.array(
            fc.record({
              report: fc.record({
                neuroncore_counters: fc.record({
                  neuroncores_in_use: fc.dictionary(
                    fc.constantFrom('0', '1', '2', 'x'),
                    fc.record({ neuroncore_utilization: fc.oneof(fc.double(), fc.jsonValue()) }),
                  ),
                }),
              }),
            }),
          ),
        ),
      },
      { requiredKeys: [] },
    );
    expect(() =>
      fc.assert(fc.property(fc.oneof(fc.jsonValue(), reportLike), parsesSafely), { numRuns: 300 }),
    ).not.toThrow();
  });
});

describe('parseNeuronMonitorLine', () => {
  it('parses one line of monitor output', () => {
    const line = JSON.stringify(fixture('neuron-monitor-trn1-2xlarge.json'));
    expect(parseNeuronMonitorLine(line).devices[0]?.utilization).toBe(0.316);
  });

  it.each(['', 'not json', '{"truncated": ', '[1, 2]'])('refuses %j with PROBE_OUTPUT', (line) => {
    expect(thrownBy(() => parseNeuronMonitorLine(line))).toMatchObject({ name: 'ProbeError', code: 'PROBE_OUTPUT' });
  });
});
