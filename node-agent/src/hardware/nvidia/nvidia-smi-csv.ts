import { type DeviceReading, ProbeError } from '../probe.js';

/**
 * The `--query-gpu` fields the probe asks for, in the order the parser reads them. The probe builds
 * its command line from this list and the parser checks each line against its length, so the two
 * cannot drift apart.
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

/** The arguments that make nvidia-smi print what {@link parseNvidiaSmiCsv} reads. */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];

const BYTES_PER_MIB = 1024 * 1024;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * Values nvidia-smi prints when it has no figure. It brackets every such value (`[N/A]`,
 * `[Not Supported]`, and also `[Unknown Error]`, `[Insufficient Permissions]`, `[GPU requires
 * reset]`), so any bracketed value is "unknown" rather than a broken line; older drivers print a
 * bare `N/A`.
 */
function isUnknownValue(raw: string): boolean {
  return raw === '' || raw === 'N/A' || (raw.startsWith('[') && raw.endsWith(']'));
}

/** Why a line cannot be read, quoting the line so an operator can find it in the tool's output. */
function malformed(lineNumber: number, line: string, why: string): ProbeError {
  return new ProbeError('PROBE_OUTPUT', `nvidia-smi output line ${lineNumber} ${why}: "${line}"`);
}

/**
 * Parses the output of `nvidia-smi` run with {@link NVIDIA_SMI_QUERY_ARGS}: one GPU per line,
 * fields separated by commas (a product name never contains one). Memory in MiB becomes bytes,
 * utilisation in percent becomes 0..1, watts and degrees stay as printed; a value the tool could
 * not give becomes undefined. Blank lines are ignored; empty output means no GPUs.
 *
 * @throws ProbeError `PROBE_OUTPUT` for a line with the wrong number of fields, a missing index,
 *   UUID or name, a number that is not one, a utilisation outside 0..100, a minimum power limit
 *   above the maximum, or an index seen twice: the message names the line.
 */
export function parseNvidiaSmiCsv(text: string): DeviceReading[] {
  const devices: DeviceReading[] = [];
  const seenIndexes = new Set<number>();
  const lines = text.split(/\r?\n/);
  for (const [position, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '') continue;
    const lineNumber = position + 1;
    const values = line.split(',').map((value) => value.trim());
    if (values.length !== NVIDIA_SMI_QUERY_FIELDS.length) {
      throw malformed(
        lineNumber,
        line,
        `has ${values.length} fields where ${NVIDIA_SMI_QUERY_FIELDS.length} were asked for (${NVIDIA_SMI_QUERY_FIELDS.join(', ')})`,
      );
    }
    const field = (name: NvidiaSmiQueryField): string => values[NVIDIA_SMI_QUERY_FIELDS.indexOf(name)] ?? '';
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

    devices.push({
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
    });
  }
  return devices;
}
