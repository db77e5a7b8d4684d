import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { NVIDIA_SMI_QUERY_ARGS, NVIDIA_SMI_QUERY_FIELDS, parseNvidiaSmiCsv } from './nvidia-smi-csv.js';

const MIB = 1024 * 1024;
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** A well-formed line for GPU `index`, with chosen fields replaced. */
const line = (index: string, overrides: Partial<Record<(typeof NVIDIA_SMI_QUERY_FIELDS)[number], string>> = {}) =>
  NVIDIA_SMI_QUERY_FIELDS.map(
    (field) =>
      overrides[field] ??
      {
        index,
        uuid: `GPU-00000000-0000-0000-0000-00000000000${index}`,
        name: 'NVIDIA H100 80GB HBM3',
        'memory.total': '81559',
        'memory.used': '1024',
        'utilization.gpu': '50',
        'power.draw': '350.25',
        'power.limit': '700.00',
        'power.min_limit': '200.00',
        'power.max_limit': '700.00',
        'temperature.gpu': '45',
      }[field],
  ).join(', ');

/** A figure as nvidia-smi prints it with `nounits`, or its mark for a missing one. */
const printed = (value: number | undefined, digits = 0): string =>
  value === undefined ? '[N/A]' : value.toFixed(digits);
const unknownOr = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

function outputError(text: string): ProbeError {
  try {
    parseNvidiaSmiCsv(text);
  } catch (error) {
    if (error instanceof ProbeError) return error;
    throw error;
  }
  throw new Error('expected parseNvidiaSmiCsv to throw');
}

describe('NVIDIA_SMI_QUERY_ARGS', () => {
  it('is the documented query, built from the field list the parser reads, with the header kept', () => {
    expect(NVIDIA_SMI_QUERY_ARGS.join(' ')).toBe(
      '--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,power.draw,power.limit,power.min_limit,power.max_limit,temperature.gpu --format=csv,nounits',
    );
  });
});

describe('parseNvidiaSmiCsv on fixtures', () => {
  it('reads an 8 × H100 SXM node, converting units', () => {
    const devices = parseNvidiaSmiCsv(fixture('h100-sxm-8x.csv'));
    expect(devices.map((device) => device.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(devices[0]).toEqual({
      index: 0,
      id: 'GPU-9ed9ef8f-1a11-2b87-5f46-7050101993a2',
      name: 'NVIDIA H100 80GB HBM3',
      memoryTotalBytes: 81559 * MIB,
      memoryUsedBytes: 74213 * MIB,
      utilization: 0.87,
      powerDrawWatts: 612.47,
      powerLimitWatts: 700,
      powerLimitRangeWatts: { min: 200, max: 700 },
      temperatureC: 58,
    });
    expect(devices[4]?.powerLimitWatts).toBe(500);
    expect(devices[7]).toMatchObject({ memoryUsedBytes: 0, utilization: 0, powerDrawWatts: 67.31 });
  });

  it('reads a mixed node, turning [N/A] and [Not Supported] into undefined', () => {
    const [a100, t4, gtx1050, geforce920m] = parseNvidiaSmiCsv(fixture('mixed-node.csv'));
    // MIG enabled: the parent GPU reports no utilisation, the rest as usual.
    expect(a100).toMatchObject({ name: 'NVIDIA A100-SXM4-80GB', utilization: undefined, powerDrawWatts: 87.26 });
    expect(a100?.powerLimitRangeWatts).toEqual({ min: 100, max: 400 });
    expect(t4).toMatchObject({ name: 'Tesla T4', utilization: 0.41, powerLimitRangeWatts: { min: 60, max: 70 } });
    expect(gtx1050).toMatchObject({
      name: 'GeForce GTX 1050 Ti',
      powerDrawWatts: undefined,
      powerLimitWatts: 120,
      powerLimitRangeWatts: undefined,
    });
    expect(geforce920m).toEqual({
      index: 3,
      id: 'GPU-cc49b4dd-598f-d402-1287-e613230dd007',
      name: 'GeForce 920M',
      memoryTotalBytes: 2004 * MIB,
      memoryUsedBytes: 5 * MIB,
      utilization: undefined,
      powerDrawWatts: undefined,
      powerLimitWatts: undefined,
      powerLimitRangeWatts: undefined,
      temperatureC: 49,
    });
  });

  it('names the line when given the driver-failure text instead of CSV', () => {
    const error = outputError(fixture('driver-communication-failure.txt'));
    expect(error.code).toBe('PROBE_OUTPUT');
    expect(error.message).toContain('line 1');
    expect(error.message).toContain("couldn't communicate with the NVIDIA driver");
  });
});

describe('parseNvidiaSmiCsv values', () => {
  it.each(['[N/A]', '[Not Supported]', 'N/A', '', '[Unknown Error]', '[Insufficient Permissions]'])(
    'reads %j as unknown',
    (unknown) => {
      const [device] = parseNvidiaSmiCsv(
        line('0', {
          'memory.used': unknown,
          'utilization.gpu': unknown,
          'power.draw': unknown,
          'temperature.gpu': unknown,
        }),
      );
      expect(device).toMatchObject({
        memoryUsedBytes: undefined,
        utilization: undefined,
        powerDrawWatts: undefined,
        temperatureC: undefined,
      });
    },
  );

  it('needs both ends of the power limit range', () => {
    expect(parseNvidiaSmiCsv(line('0', { 'power.min_limit': '[N/A]' }))[0]?.powerLimitRangeWatts).toBeUndefined();
    expect(parseNvidiaSmiCsv(line('0', { 'power.max_limit': 'N/A' }))[0]?.powerLimitRangeWatts).toBeUndefined();
  });

  it('keeps names with spaces and MIG device names whole', () => {
    const devices = parseNvidiaSmiCsv(
      [
        line('0', { name: 'NVIDIA GeForce RTX 3080 Ti Laptop GPU' }),
        line('1', { name: 'MIG 3g.40gb', uuid: 'MIG-8c4d40b7-14dc-1a36-d9cd-92b3a70675a9' }),
      ].join('\n'),
    );
    expect(devices.map((device) => [device.name, device.id])).toEqual([
      ['NVIDIA GeForce RTX 3080 Ti Laptop GPU', 'GPU-00000000-0000-0000-0000-000000000000'],
      ['MIG 3g.40gb', 'MIG-8c4d40b7-14dc-1a36-d9cd-92b3a70675a9'],
    ]);
  });

  it('ignores blank lines and CRLF line ends, and reads empty output as no GPUs', () => {
    expect(parseNvidiaSmiCsv(`\r\n${line('0')}\r\n\r\n${line('1')}\r\n`).map((device) => device.index)).toEqual([0, 1]);
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('\n\n')).toEqual([]);
  });

  it('recovers every value nvidia-smi would print', () => {
    const sample = fc.record({
      totalMib: unknownOr(fc.integer({ min: 0, max: 200_000 })),
      usedMib: unknownOr(fc.integer({ min: 0, max: 200_000 })),
      percent: unknownOr(fc.integer({ min: 0, max: 100 })),
      centiwatts: unknownOr(fc.integer({ min: 0, max: 120_000 })),
      temperature: unknownOr(fc.integer({ min: 0, max: 120 })),
    });
    fc.assert(
      fc.property(sample, ({ totalMib, usedMib, percent, centiwatts, temperature }) => {
        const watts = centiwatts === undefined ? undefined : centiwatts / 100;
        const [device] = parseNvidiaSmiCsv(
          line('3', {
            'memory.total': printed(totalMib),
            'memory.used': printed(usedMib),
            'utilization.gpu': printed(percent),
            'power.draw': printed(watts, 2),
            'temperature.gpu': printed(temperature),
          }),
        );
        expect(device?.memoryTotalBytes).toBe(totalMib === undefined ? undefined : totalMib * MIB);
        expect(device?.memoryUsedBytes).toBe(usedMib === undefined ? undefined : usedMib * MIB);
        expect(device?.utilization).toBe(percent === undefined ? undefined : percent / 100);
        expect(device?.powerDrawWatts).toBe(watts);
        expect(device?.temperatureC).toBe(temperature);
      }),
    );
  });
});

describe('parseNvidiaSmiCsv malformed output', () => {
  it.each([
    ['too few fields', line('0').split(', ').slice(0, 10).join(', '), 'has 10 fields where 11'],
    ['too many fields', `${line('0')}, 12`, 'has 12 fields where 11'],
    ['a non-numeric index', line('x'), 'index "x"'],
    ['a negative index', line('-1'), 'index "-1"'],
    ['a fractional index', line('1.5'), 'index "1.5"'],
    ['a word where a number belongs', line('0', { 'memory.total': 'lots' }), 'memory.total "lots"'],
    ['a hexadecimal number', line('0', { 'power.draw': '0x10' }), 'power.draw "0x10"'],
    ['a value with its unit left on', line('0', { 'power.draw': '350.25 W' }), 'power.draw "350.25 W"'],
    ['utilisation above 100 %', line('0', { 'utilization.gpu': '101' }), 'utilization.gpu 101'],
    ['a minimum limit above the maximum', line('0', { 'power.min_limit': '800' }), 'power.min_limit 800 W above'],
    ['no UUID', line('0', { uuid: '[N/A]' }), 'has no UUID'],
    ['no name', line('0', { name: '' }), 'has no product name'],
    ['a message instead of CSV', 'No devices were found', 'has 1 fields'],
  ])('rejects %s', (_case, text, why) => {
    const error = outputError(`${line('7')}\n${text}\n`);
    expect(error.code).toBe('PROBE_OUTPUT');
    expect(error.message).toContain('line 2');
    expect(error.message).toContain(why);
    expect(error.message).toContain(`"${text.trim()}"`);
  });

  it('rejects an index seen twice', () => {
    const error = outputError(`${line('0')}\n${line('1')}\n${line('0')}`);
    expect(error.message).toMatch(/line 3 repeats GPU index 0/);
  });
});

/** The units nvidia-smi prints in a header (and on values, without `nounits`). */
const HEADER_UNITS: Partial<Record<string, string>> = {
  'memory.total': 'MiB',
  'memory.used': 'MiB',
  'utilization.gpu': '%',
  'power.draw': 'W',
  'power.limit': 'W',
  'power.min_limit': 'W',
  'power.max_limit': 'W',
  'fan.speed': '%',
  'clocks.current.sm': 'MHz',
};
const headerCell = (field: string): string => {
  const unit = HEADER_UNITS[field];
  return unit === undefined ? field : `${field} [${unit}]`;
};
const headerFor = (fields: readonly string[]): string => fields.map(headerCell).join(', ');

describe('parseNvidiaSmiCsv with a header line', () => {
  it("reads the probe's own output (header, bare numbers) as it reads the header-less one", () => {
    const rows = fixture('h100-sxm-8x.csv');
    expect(parseNvidiaSmiCsv(`${headerFor(NVIDIA_SMI_QUERY_FIELDS)}\n${rows}`)).toEqual(parseNvidiaSmiCsv(rows));
  });

  it('finds columns by name in any order among other fields, taking units off the values', () => {
    const text = [
      'fan.speed [%], temperature.gpu, name, power.max_limit [W], memory.used [MiB], uuid, clocks.current.sm [MHz], index, power.draw [W], utilization.gpu [%], memory.total [MiB], power.limit [W], power.min_limit [W]',
      '38 %, 45, NVIDIA GeForce RTX 2080 SUPER, 350.00 W, 819 MiB, GPU-aa, 2055 MHz, 1, 111.50 W, 8 %, 8192 MiB, 250.00 W, 105.00 W',
    ].join('\n');
    expect(parseNvidiaSmiCsv(text)).toEqual([
      {
        index: 1,
        id: 'GPU-aa',
        name: 'NVIDIA GeForce RTX 2080 SUPER',
        memoryTotalBytes: 8192 * MIB,
        memoryUsedBytes: 819 * MIB,
        utilization: 0.08,
        powerDrawWatts: 111.5,
        powerLimitWatts: 250,
        powerLimitRangeWatts: { min: 105, max: 350 },
        temperatureC: 45,
      },
    ]);
  });

  it('accepts the other names nvidia-smi gives our fields', () => {
    const text = [
      'index, gpu_uuid, gpu_name, gpu.power.requested_limit [W], gpu.power.min_limit [W], gpu.power.max_limit [W]',
      '0, GPU-bb, NVIDIA H100 80GB HBM3, 500.00 W, 200.00 W, 700.00 W',
    ].join('\n');
    expect(parseNvidiaSmiCsv(text)[0]).toMatchObject({
      id: 'GPU-bb',
      name: 'NVIDIA H100 80GB HBM3',
      powerLimitWatts: 500,
      powerLimitRangeWatts: { min: 200, max: 700 },
    });
  });

  it('reads the fields a header lacks as unknown', () => {
    const [device] = parseNvidiaSmiCsv('name, pci.bus, index, uuid\nGeForce GTX 1080 Ti, 0x02, 1, GPU-cc\n');
    expect(device).toEqual({
      index: 1,
      id: 'GPU-cc',
      name: 'GeForce GTX 1080 Ti',
      memoryTotalBytes: undefined,
      memoryUsedBytes: undefined,
      utilization: undefined,
      powerDrawWatts: undefined,
      powerLimitWatts: undefined,
      powerLimitRangeWatts: undefined,
      temperatureC: undefined,
    });
  });

  it.each([
    ['index', 'without a "index" column'],
    ['uuid', 'without a "uuid" column (or "gpu_uuid")'],
    ['name', 'without a "name" column (or "gpu_name")'],
  ])('refuses a header without %s, naming the column', (missing, why) => {
    const fields = NVIDIA_SMI_QUERY_FIELDS.filter((field) => field !== missing);
    const error = outputError(`\n${headerFor(fields)}\n${line('0')}\n`);
    expect(error.code).toBe('PROBE_OUTPUT');
    expect(error.message).toContain(`line 2 is a header ${why}`);
  });

  it('refuses a unit other than the one nvidia-smi reports the field in', () => {
    const header = headerFor(NVIDIA_SMI_QUERY_FIELDS).replace('memory.total [MiB]', 'memory.total [GiB]');
    expect(outputError(`${header}\n`).message).toContain(
      'gives "memory.total" in GiB, where nvidia-smi reports it in MiB',
    );
    expect(outputError('index [#], uuid, name\n').message).toContain('gives "index" in #');
  });

  it('refuses a header that names a field twice', () => {
    expect(outputError('index, uuid, name, gpu_uuid\n').message).toContain('names the "uuid" column twice');
  });

  it('fails clearly on a line whose values outnumber the header (a value with a comma in it)', () => {
    const error = outputError('index, name, uuid, hostname\n0, NVIDIA H100 80GB HBM3, GPU-dd, rack 4, slot 2\n');
    expect(error.message).toContain('line 2 has 5 fields where the header on line 1 has 4');
    expect(error.message).toContain('a value with a comma in it');
  });

  it('still refuses a value with a unit nvidia-smi would not print there', () => {
    const error = outputError('index, uuid, name, power.draw [W]\n0, GPU-ee, NVIDIA L40S, 144.97 kW\n');
    expect(error.message).toContain('power.draw "144.97 kW", which is not a number');
  });
});
