import { type DeviceReading, ProbeError } from '../probe.js';

/**
 * The `--query-gpu` fields the probe asks for. The probe builds its command line from this list;
 * output with a header line is read by column name, output without one in this order.
 *
 * Power draw is `power.draw`, not `power.draw.average` or `power.draw.instant`: every driver that
 * has `--query-gpu` knows `power.draw`, while the other two exist only on newer drivers, and asking
 * for a field the driver does not know fails the whole query. On Ampere (except GA100) and newer,
 * NVML documents `power.draw` as the average over 1 s (older parts give an instantaneous reading),
 * and a smoothed figure is what a heartbeat should carry: an instant sample swings with each batch.
 */
export const NVIDIA_SMI_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'utilization.gpu',
  'power.draw',
  'power.limit',
  'power.min_limit',
  'power.max_limit',
  'temperature.gpu',
] as const;

/** One field of the query. */
export type NvidiaSmiQueryField = (typeof NVIDIA_SMI_QUERY_FIELDS)[number];

/**
 * The arguments that make nvidia-smi print what {@link parseNvidiaSmiCsv} reads. The header line is
 * kept (no `noheader`) so the parser checks each column's name and unit instead of trusting the
 * order; units are left off the values (`nounits`), which keeps every value a bare number.
 */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`,
  '--format=csv,nounits',
];

/**
 * The other names nvidia-smi accepts for our fields (`nvidia-smi --help-query-gpu`: "uuid" or
 * "gpu_uuid", "power.limit" or "gpu.power.requested_limit", …). A header names a column the way
 * the query did, so either may appear.
 */
const FIELD_ALIASES: ReadonlyMap<string, NvidiaSmiQueryField> = new Map([
  ['gpu_uuid', 'uuid'],
  ['gpu_name', 'name'],
  ['gpu.power.requested_limit', 'power.limit'],
  ['gpu.power.min_limit', 'power.min_limit'],
  ['gpu.power.max_limit', 'power.max_limit'],
]);

/** The unit nvidia-smi prints with each numeric field we read (`temperature.gpu` has none: °C). */
const FIELD_UNITS: Readonly<Partial<Record<NvidiaSmiQueryField, string>>> = {
  'memory.total': 'MiB',
  'memory.used': 'MiB',
  'utilization.gpu': '%',
  'power.draw': 'W',
  'power.limit': 'W',
  'power.min_limit': 'W',
  'power.max_limit': 'W',
};

/** Without these a line cannot be tied to a GPU, so a header lacking one is refused. */
const REQUIRED_FIELDS: readonly NvidiaSmiQueryField[] = ['index', 'uuid', 'name'];

/** A header cell: a field name, then its unit in brackets when it has one (`memory.total [MiB]`). */
const HEADER_CELL = /^([A-Za-z][\w.]*)(?: \[([^\]]+)\])?$/;
const BYTES_PER_MIB = 1024 * 1024;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * Values nvidia-smi prints when it has no figure. It brackets every such value (`[N/A]`,
 * `[Not Supported]`, `[Requested functionality has been deprecated]`, and also `[Unknown Error]`,
 * `[Insufficient Permissions]`, `[GPU requires reset]`), so any bracketed value is "unknown"
 * rather than a broken line; some fields, and older drivers, print a bare `N/A`.
 */
function isUnknownValue(raw: string): boolean {
  return raw === '' || raw === 'N/A' || (raw.startsWith('[') && raw.endsWith(']'));
}

/** Why a line cannot be read, quoting the line so an operator can find it in the tool's output. */
function malformed(lineNumber: number, line: string, why: string): ProbeError {
  return new ProbeError('PROBE_OUTPUT', `nvidia-smi output line ${lineNumber} ${why}: "${line}"`);
}

/** Where each field sits on a line, and how many values a line must have. */
interface ColumnLayout {
  readonly columnCount: number;
  /** Position of each field on a line; a field the output lacks is absent (read as unknown). */
  readonly positions: ReadonlyMap<NvidiaSmiQueryField, number>;
  /** Values carry their unit (`81559 MiB`), as with `--format=csv`; stripped before reading. */
  readonly valuesMayCarryUnits: boolean;
  /** What a line with the wrong number of values is measured against, for the error message. */
  readonly expectation: string;
}

/** The layout of `--format=csv,noheader,nounits` output: our fields, in our order, bare numbers. */
const POSITIONAL_LAYOUT: ColumnLayout = {
  columnCount: NVIDIA_SMI_QUERY_FIELDS.length,
  positions: new Map(NVIDIA_SMI_QUERY_FIELDS.map((field, position) => [field, position])),
  valuesMayCarryUnits: false,
  expectation: `${NVIDIA_SMI_QUERY_FIELDS.length} were asked for (${NVIDIA_SMI_QUERY_FIELDS.join(', ')})`,
};

const splitValues = (line: string): string[] => line.split(',').map((value) => value.trim());

/**
 * The layout a header line gives, or undefined when the line is not a header (a data line always
 * has a value that is no field name: the index is a number, a name has spaces). Fields we do not
 * read are passed over, however many there are.
 *
 * @throws ProbeError `PROBE_OUTPUT` for a header without an index, UUID or name column, one that
 *   names a field twice, or one that gives a field in another unit than nvidia-smi's own.
 */
function headerLayout(line: string, lineNumber: number): ColumnLayout | undefined {
  const cells: RegExpExecArray[] = [];
  for (const value of splitValues(line)) {
    const cell = HEADER_CELL.exec(value);
    if (cell === null) return undefined;
    cells.push(cell);
  }
  const headerError = (why: string): ProbeError =>
    new ProbeError('PROBE_OUTPUT', `nvidia-smi output line ${lineNumber} is a header ${why}`);
  const positions = new Map<NvidiaSmiQueryField, number>();
  for (const [position, [, name = '', unit]] of cells.entries()) {
    const field = FIELD_ALIASES.get(name) ?? NVIDIA_SMI_QUERY_FIELDS.find((known) => known === name);
    if (field === undefined) continue;
    if (positions.has(field)) throw headerError(`that names the "${field}" column twice`);
    const expectedUnit = FIELD_UNITS[field];
    if (unit !== undefined && unit !== expectedUnit) {
      throw headerError(
        `that gives "${field}" in ${unit}, where nvidia-smi reports it ${expectedUnit === undefined ? 'without a unit' : `in ${expectedUnit}`}`,
      );
    }
    positions.set(field, position);
  }
  for (const field of REQUIRED_FIELDS) {
    if (!positions.has(field)) {
      const aliases = [...FIELD_ALIASES].filter(([, target]) => target === field).map(([alias]) => alias);
      const also = aliases.length === 0 ? '' : ` (or ${aliases.map((alias) => `"${alias}"`).join(', ')})`;
      throw headerError(`without a "${field}" column${also}, so its lines cannot be told apart`);
    }
  }
  return {
    columnCount: cells.length,
    positions,
    valuesMayCarryUnits: true,
    expectation: `the header on line ${lineNumber} has ${cells.length} (a value with a comma in it would do this; such output cannot be read unambiguously)`,
  };
}

/** Reads one GPU's line; `seenIndexes` catches a GPU listed twice. */
function readDevice(line: string, lineNumber: number, layout: ColumnLayout, seenIndexes: Set<number>): DeviceReading {
  const values = splitValues(line);
  if (values.length !== layout.columnCount) {
    throw malformed(lineNumber, line, `has ${values.length} fields where ${layout.expectation}`);
  }
  const field = (name: NvidiaSmiQueryField): string => {
    const position = layout.positions.get(name);
    const raw = position === undefined ? '' : (values[position] ?? '');
    const unit = FIELD_UNITS[name];
    return layout.valuesMayCarryUnits && unit !== undefined && raw.endsWith(` ${unit}`)
      ? raw.slice(0, -(unit.length + 1))
      : raw;
  };
  const number = (name: NvidiaSmiQueryField): number | undefined => {
    const raw = field(name);
    if (isUnknownValue(raw)) return undefined;
    // Plain decimals only: Number() alone would also take '0x1F' or '1e3', which nvidia-smi never prints.
    if (!DECIMAL.test(raw)) throw malformed(lineNumber, line, `has ${name} "${raw}", which is not a number`);
    return Number(raw);
  };

  const indexText = field('index');
  if (!/^\d+$/.test(indexText)) {
    throw malformed(lineNumber, line, `has index "${indexText}", which is not a non-negative integer`);
  }
  const index = Number(indexText);
  if (seenIndexes.has(index)) throw malformed(lineNumber, line, `repeats GPU index ${index}`);
  seenIndexes.add(index);

  const id = field('uuid');
  if (isUnknownValue(id)) throw malformed(lineNumber, line, 'has no UUID');
  const name = field('name');
  if (isUnknownValue(name)) throw malformed(lineNumber, line, 'has no product name');

  const memoryTotalMib = number('memory.total');
  const memoryUsedMib = number('memory.used');
  const utilizationPercent = number('utilization.gpu');
  if (utilizationPercent !== undefined && (utilizationPercent < 0 || utilizationPercent > 100)) {
    throw malformed(lineNumber, line, `has utilization.gpu ${utilizationPercent}, outside 0..100 %`);
  }
  const minLimitWatts = number('power.min_limit');
  const maxLimitWatts = number('power.max_limit');
  if (minLimitWatts !== undefined && maxLimitWatts !== undefined && minLimitWatts > maxLimitWatts) {
    throw malformed(
      lineNumber,
      line,
      `has power.min_limit ${minLimitWatts} W above power.max_limit ${maxLimitWatts} W`,
    );
  }

  return {
    index,
    id,
    name,
    memoryTotalBytes: memoryTotalMib === undefined ? undefined : memoryTotalMib * BYTES_PER_MIB,
    memoryUsedBytes: memoryUsedMib === undefined ? undefined : memoryUsedMib * BYTES_PER_MIB,
    utilization: utilizationPercent === undefined ? undefined : utilizationPercent / 100,
    powerDrawWatts: number('power.draw'),
    powerLimitWatts: number('power.limit'),
    // A range needs both ends: a card that reports only one cannot be given a limit safely.
    powerLimitRangeWatts:
      minLimitWatts === undefined || maxLimitWatts === undefined
        ? undefined
        : { min: minLimitWatts, max: maxLimitWatts },
    temperatureC: number('temperature.gpu'),
  };
}

/**
 * Parses `nvidia-smi --query-gpu=… --format=csv…` output: one GPU per line, fields separated by
 * commas (a product name never contains one). Two shapes are read:
 *
 * - with a header line (`--format=csv` or `csv,nounits`, as the probe asks): columns are found by
 *   the name the header gives them (in any order, among any number of other fields, under either of
 *   the names nvidia-smi accepts), and a unit the values carry (`81559 MiB`) is taken off. A field
 *   we read that the header lacks reads as unknown, except index, UUID and name, which must be there;
 * - without one (`--format=csv,noheader,nounits`): exactly our {@link NVIDIA_SMI_QUERY_FIELDS}, in
 *   that order, as bare numbers.
 *
 * Memory in MiB becomes bytes, utilisation in percent becomes 0..1, watts and degrees stay as
 * printed; a value the tool could not give (any bracketed value, bare `N/A`, empty) becomes
 * undefined. Blank lines are ignored; empty output means no GPUs.
 *
 * @throws ProbeError `PROBE_OUTPUT` for a header without an index, UUID or name column (the message
 *   names it), a line with the wrong number of fields, a missing index, UUID or name, a number that
 *   is not one, a utilisation outside 0..100, a minimum power limit above the maximum, or an index
 *   seen twice: the message names the line.
 */
export function parseNvidiaSmiCsv(text: string): DeviceReading[] {
  const lines = text.split(/\r?\n/);
  const firstPosition = lines.findIndex((line) => line.trim() !== '');
  if (firstPosition < 0) return [];
  const header = headerLayout((lines[firstPosition] ?? '').trim(), firstPosition + 1);
  const layout = header ?? POSITIONAL_LAYOUT;
  const devices: DeviceReading[] = [];
  const seenIndexes = new Set<number>();
  for (const [position, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || (header !== undefined && position <= firstPosition)) continue;
    devices.push(readDevice(line, position + 1, layout, seenIndexes));
  }
  return devices;
}
