import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceReading } from '../probe.js';
import { parseNvidiaSmiCsv } from './nvidia-smi-csv.js';
import { parseNvidiaSmiList } from './nvidia-smi-list.js';

// nvidia-smi output captured on real machines (fixtures/real, sources in fixtures/SOURCES.md):
// `--query-gpu=<every field the driver knows> --format=csv`, so 202 to 214 columns with units, and
// `nvidia-smi -L`. The collector masked each GPU UUID to GPU-00000000-0000-0000-0000-000000000000.

const MIB = 1024 * 1024;
const MASKED_UUID = 'GPU-00000000-0000-0000-0000-000000000000';
const realFixture = (name: string): string => readFileSync(new URL(`./fixtures/real/${name}`, import.meta.url), 'utf8');

/** One GPU, index 0 and the masked UUID, as every capture here has. */
const gpu = (reading: Omit<DeviceReading, 'index' | 'id'>): DeviceReading => ({
  index: 0,
  id: MASKED_UUID,
  ...reading,
});

const H100 = 'NVIDIA H100 80GB HBM3';
const RTX_2080_SUPER = 'NVIDIA GeForce RTX 2080 SUPER';
const h100Limits = { powerLimitWatts: 700, powerLimitRangeWatts: { min: 200, max: 700 } };
const rtx2080SuperLimits = { powerLimitWatts: 250, powerLimitRangeWatts: { min: 105, max: 350 } };
const l40sLimits = { powerLimitWatts: 350, powerLimitRangeWatts: { min: 100, max: 350 } };

const QUERY_CAPTURES: readonly [string, DeviceReading][] = [
  [
    'query-gpu_h100-80gb-hbm3_590.48.01_idle.csv',
    gpu({
      name: H100,
      memoryTotalBytes: 81559 * MIB,
      memoryUsedBytes: 0,
      utilization: 0,
      powerDrawWatts: 69.85,
      ...h100Limits,
      temperatureC: 41,
    }),
  ],
  [
    'query-gpu_h100-80gb-hbm3_590.48.01_load.csv',
    gpu({
      name: H100,
      memoryTotalBytes: 81559 * MIB,
      memoryUsedBytes: 19818 * MIB,
      utilization: 1,
      powerDrawWatts: 631.95,
      ...h100Limits,
      temperatureC: 59,
    }),
  ],
  [
    // MIG enabled: nvidia-smi gives no utilisation for the whole GPU ("[N/A]").
    'query-gpu_h100-80gb-hbm3-mig_590.48.01_idle.csv',
    gpu({
      name: H100,
      memoryTotalBytes: 81559 * MIB,
      memoryUsedBytes: 59 * MIB,
      utilization: undefined,
      powerDrawWatts: 71.15,
      ...h100Limits,
      temperatureC: 42,
    }),
  ],
  [
    'query-gpu_h100-80gb-hbm3-mig_590.48.01_load.csv',
    gpu({
      name: H100,
      memoryTotalBytes: 81559 * MIB,
      memoryUsedBytes: 11125 * MIB,
      utilization: undefined,
      powerDrawWatts: 433.78,
      ...h100Limits,
      temperatureC: 53,
    }),
  ],
  [
    'query-gpu_h200_580.173.02_idle.csv',
    gpu({
      name: 'NVIDIA H200',
      memoryTotalBytes: 143771 * MIB,
      memoryUsedBytes: 0,
      utilization: 0,
      powerDrawWatts: 85.12,
      ...h100Limits,
      temperatureC: 37,
    }),
  ],
  [
    // "idle" by the collector's label; the card was busy with another job (100 %, 145 W).
    'query-gpu_l40s_595.80_idle.csv',
    gpu({
      name: 'NVIDIA L40S',
      memoryTotalBytes: 46068 * MIB,
      memoryUsedBytes: 0,
      utilization: 1,
      powerDrawWatts: 144.97,
      ...l40sLimits,
      temperatureC: 63,
    }),
  ],
  [
    'query-gpu_l40s_595.80_load.csv',
    gpu({
      name: 'NVIDIA L40S',
      memoryTotalBytes: 46068 * MIB,
      memoryUsedBytes: 1235 * MIB,
      utilization: 0.09,
      powerDrawWatts: 110.23,
      ...l40sLimits,
      temperatureC: 54,
    }),
  ],
  [
    'query-gpu_rtx-2080-super-linux_595.71.05_idle.csv',
    gpu({
      name: RTX_2080_SUPER,
      memoryTotalBytes: 8192 * MIB,
      memoryUsedBytes: 214 * MIB,
      utilization: 0,
      powerDrawWatts: 39.32,
      ...rtx2080SuperLimits,
      temperatureC: 40,
    }),
  ],
  [
    'query-gpu_rtx-2080-super-linux_595.71.05_load.csv',
    gpu({
      name: RTX_2080_SUPER,
      memoryTotalBytes: 8192 * MIB,
      memoryUsedBytes: 819 * MIB,
      utilization: 0.08,
      powerDrawWatts: 111.5,
      ...rtx2080SuperLimits,
      temperatureC: 45,
    }),
  ],
  [
    'query-gpu_rtx-2080-super-windows_591.86_idle.csv',
    gpu({
      name: RTX_2080_SUPER,
      memoryTotalBytes: 8192 * MIB,
      memoryUsedBytes: 702 * MIB,
      utilization: 0,
      powerDrawWatts: 38.92,
      ...rtx2080SuperLimits,
      temperatureC: 40,
    }),
  ],
  [
    'query-gpu_rtx-2080-super-windows_591.86_load.csv',
    gpu({
      name: RTX_2080_SUPER,
      memoryTotalBytes: 8192 * MIB,
      memoryUsedBytes: 1296 * MIB,
      utilization: 0.07,
      powerDrawWatts: 97.43,
      ...rtx2080SuperLimits,
      temperatureC: 45,
    }),
  ],
];

describe('parseNvidiaSmiCsv on real --query-gpu captures', () => {
  it.each(QUERY_CAPTURES)('reads %s', (name, expected) => {
    expect(parseNvidiaSmiCsv(realFixture(name))).toEqual([expected]);
  });

  it('reads a capture the same whatever the order of its columns', () => {
    const [header = '', row = ''] = realFixture('query-gpu_h100-80gb-hbm3_590.48.01_load.csv').split('\n');
    const headerCells = header.split(', ');
    const rowCells = row.split(', ');
    const expected = parseNvidiaSmiCsv(`${header}\n${row}\n`);
    fc.assert(
      fc.property(fc.shuffledSubarray([...headerCells.keys()], { minLength: headerCells.length }), (order) => {
        const reordered = (cells: readonly string[]): string => order.map((at) => cells[at]).join(', ');
        expect(parseNvidiaSmiCsv(`${reordered(headerCells)}\n${reordered(rowCells)}\n`)).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});

/** The `-L` capture taken on the same machine as each query capture. */
const LIST_OF_QUERY: readonly [string, string][] = [
  ['list-gpus_h100-80gb-hbm3_590.48.01.txt', 'query-gpu_h100-80gb-hbm3_590.48.01_idle.csv'],
  ['list-gpus_h100-80gb-hbm3-mig_590.48.01.txt', 'query-gpu_h100-80gb-hbm3-mig_590.48.01_idle.csv'],
  ['list-gpus_h200_580.173.02.txt', 'query-gpu_h200_580.173.02_idle.csv'],
  ['list-gpus_l40s_595.80.txt', 'query-gpu_l40s_595.80_idle.csv'],
  ['list-gpus_rtx-2080-super-linux_595.71.05.txt', 'query-gpu_rtx-2080-super-linux_595.71.05_idle.csv'],
  ['list-gpus_rtx-2080-super-windows_591.86.txt', 'query-gpu_rtx-2080-super-windows_591.86_idle.csv'],
];

describe('parseNvidiaSmiList on real nvidia-smi -L captures', () => {
  it.each(LIST_OF_QUERY)('%s lists the GPU the query on that machine reads', (listName, queryName) => {
    const listed = parseNvidiaSmiList(realFixture(listName)).map(({ index, uuid, name }) => ({
      index,
      id: uuid,
      name,
    }));
    const queried = parseNvidiaSmiCsv(realFixture(queryName)).map(({ index, id, name }) => ({ index, id, name }));
    expect(listed).toEqual(queried);
  });

  it('reads an H100 split into MIG devices of mixed profiles', () => {
    expect(parseNvidiaSmiList(realFixture('list-gpus_h100-80gb-hbm3-mig_590.48.01.txt'))).toEqual([
      {
        index: 0,
        name: H100,
        uuid: MASKED_UUID,
        migDevices: [
          { index: 0, profile: '3g.40gb', uuid: 'MIG-00000000-0000-0000-0000-000000000000' },
          { index: 1, profile: '2g.20gb', uuid: 'MIG-00000001-0000-0000-0000-000000000001' },
          { index: 2, profile: '1g.10gb', uuid: 'MIG-00000002-0000-0000-0000-000000000002' },
          { index: 3, profile: '1g.10gb', uuid: 'MIG-00000003-0000-0000-0000-000000000003' },
        ],
      },
    ]);
  });

  it('reads eight H100s with seven 1g.10gb MIG devices each', () => {
    const gpus = parseNvidiaSmiList(realFixture('list-gpus_8x-h100-mig_nvidia-gpu-exporter-testdata.txt'));
    expect(gpus.map((listed) => listed.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(gpus.every((listed) => listed.name === H100)).toBe(true);
    expect(gpus.map((listed) => listed.migDevices.map((device) => device.index))).toEqual(
      gpus.map(() => [0, 1, 2, 3, 4, 5, 6]),
    );
    expect(gpus.flatMap((listed) => listed.migDevices).every((device) => device.profile === '1g.10gb')).toBe(true);
    expect(gpus[0]?.uuid).toBe('GPU-63d1e50a-b952-d15c-0740-12bc14859142');
    expect(gpus[7]?.migDevices[6]?.uuid).toBe('MIG-bc03b921-4d24-573e-9d4b-1cdc47b1f4b4');
    const uuids = gpus.flatMap((listed) => [listed.uuid, ...listed.migDevices.map((device) => device.uuid)]);
    expect(new Set(uuids).size).toBe(8 + 8 * 7);
  });

  it('reads a node where only the first of four A100s is split', () => {
    const gpus = parseNvidiaSmiList(realFixture('list-gpus_4x-a100-mig-mixed_telegraf-5812.txt'));
    expect(gpus.map(({ index, name, migDevices }) => [index, name, migDevices.length])).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', 4],
      [1, 'NVIDIA A100-SXM4-80GB', 0],
      [2, 'NVIDIA A100-SXM4-80GB', 0],
      [3, 'NVIDIA A100-SXM4-80GB', 0],
    ]);
    expect(gpus[0]?.migDevices[3]).toEqual({
      index: 3,
      profile: '1g.20gb',
      uuid: 'MIG-930574a9-d43a-5d2b-95da-3e68384c8d6b',
    });
    expect(gpus[3]?.uuid).toBe('GPU-69ec2344-ebac-b028-f88f-452abb3d7f11');
  });

  it('reads an A100 in a Kubernetes pod with seven 1g.10gb MIG devices', () => {
    const [a100, ...others] = parseNvidiaSmiList(realFixture('list-gpus_a100-mig_datadog-agent-33120.txt'));
    expect(others).toEqual([]);
    expect(a100).toMatchObject({
      index: 0,
      name: 'NVIDIA A100-SXM4-80GB',
      uuid: 'GPU-7fdaf0a5-179b-f636-d15d-daf243e3ff16',
    });
    expect(a100?.migDevices.map((device) => [device.index, device.profile])).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((index) => [index, '1g.10gb']),
    );
    expect(a100?.migDevices[0]?.uuid).toBe('MIG-feb88891-0321-5fef-9c87-d4af3b54259e');
  });
});
