import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from './fixtures/python-literal.js';
import { parseNeuronMonitorLine, parseNeuronMonitorReport } from './neuron-monitor-report.js';

// neuron-monitor reports captured on real trn1.2xlarge instances (fixtures/real, sources in
// fixtures/SOURCES.md): one from 2026 tools with no Neuron application running, one from 2022 tools
// while a training script ran, which wandb keeps as a Python literal in its tests.

const GiB = 1024 ** 3;
const realFixture = (name: string): string => readFileSync(new URL(`./fixtures/real/${name}`, import.meta.url), 'utf8');

/** The wandb report: the first element of a Python list, so the excerpt ends with the list's comma. */
function wandbReport(): Record<string, unknown> {
  const excerpt = realFixture('neuron-monitor_trn1-2xlarge_wandb.py.txt');
  return parsePythonLiteral(excerpt.trimEnd().replace(/,$/, '')) as Record<string, unknown>;
}

/** What `run` threw, or the string 'nothing thrown'. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return 'nothing thrown';
}

describe('neuron-monitor reports captured on real machines', () => {
  it('reads the 2026 trn1.2xlarge record with no application: full hardware info, an idle device', () => {
    const report = parseNeuronMonitorLine(realFixture('neuron-monitor_trn1-2xlarge-no-runtime_all-smi.txt'));
    expect(report).toEqual({
      instanceType: 'trn1.2xlarge',
      hardware: { deviceType: 'trainium', deviceCount: 1, deviceMemoryBytes: 32 * GiB, neuroncoresPerDevice: 2 },
      // `"neuron_runtime_data": []`: no application holds a core, so the device is idle and empty.
      devices: [{ index: 0, utilization: 0, memoryUsedBytes: 0 }],
    });
  });

  it('reads the 2022 trn1.2xlarge report of a running application, whose hardware info has only the counts', () => {
    const json = wandbReport();
    expect(parseNeuronMonitorReport(json)).toEqual({
      instanceType: 'trn1.2xlarge',
      hardware: { deviceType: undefined, deviceCount: 1, deviceMemoryBytes: undefined, neuroncoresPerDevice: 2 },
      devices: [
        {
          index: 0,
          // Core 0 at 1.3631567613356375 %, core 1 at 0 %.
          utilization: 1.3631567613356375 / 2 / 100,
          // Core 0: 196608 constants + 101125344 model code + 943608 tensors; core 1: 32768 model code.
          memoryUsedBytes: 102_298_328,
        },
      ],
    });
    // One line of the tool's stdout is that report serialised, which is what the probe parses.
    expect(parseNeuronMonitorLine(JSON.stringify(json))).toEqual(parseNeuronMonitorReport(json));
  });

  it('sums per-core memory to the total the runtime itself reports for the device', () => {
    const json = wandbReport();
    const runtime = (json['neuron_runtime_data'] as Record<string, unknown>[])[0]!;
    const memoryUsed = (runtime['report'] as Record<string, Record<string, unknown>>)['memory_used']!;
    const reportedTotal = (memoryUsed['neuron_runtime_used_bytes'] as Record<string, unknown>)['neuron_device'];
    expect(parseNeuronMonitorReport(json).devices[0]?.memoryUsedBytes).toBe(reportedTotal);
  });

  it('leaves the figures a failed group feeds undefined in the real report, and keeps the rest', () => {
    // Derived from the real report: its memory_used group given the error and null data that a
    // failed group carries; neuroncore_counters is left as captured.
    const json = structuredClone(wandbReport());
    const runtime = (json['neuron_runtime_data'] as Record<string, unknown>[])[0]!;
    (runtime['report'] as Record<string, unknown>)['memory_used'] = { period: 0.999155887, error: 'timed out' };
    expect(parseNeuronMonitorReport(json).devices).toEqual([
      { index: 0, utilization: 1.3631567613356375 / 2 / 100, memoryUsedBytes: undefined },
    ]);
  });

  it.each([
    ['cut in half', (line: string) => line.slice(0, Math.floor(line.length / 2))],
    ['with a byte lost at the end', (line: string) => line.slice(0, -1)],
    ['wrapped in an array', (line: string) => `[${line}]`],
  ])('refuses the real record %s with PROBE_OUTPUT', (_case, damage) => {
    const line = damage(realFixture('neuron-monitor_trn1-2xlarge-no-runtime_all-smi.txt'));
    expect(thrownBy(() => parseNeuronMonitorLine(line))).toMatchObject({ name: 'ProbeError', code: 'PROBE_OUTPUT' });
  });
});
