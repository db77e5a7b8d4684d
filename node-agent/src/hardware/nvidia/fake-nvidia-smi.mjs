#!/usr/bin/env node
// A stand-in for nvidia-smi, for tests: it answers the three command lines Switchyard runs
// (`--query-gpu=… --format=csv[,noheader][,nounits]`, `-L`, `-i <index> -pl <watts>`) the way the
// real tool does, with its messages and exit statuses, from a fixture instead of a driver. See
// fixtures/SOURCES.md for where each behaviour was checked. Driven by the environment:
//   FAKE_NVIDIA_SMI_FIXTURE       CSV to answer queries with, one GPU per line in FIXTURE_COLUMNS order
//                                 without units or header (required for ok/denied/unsupported)
//   FAKE_NVIDIA_SMI_MODE          ok (default) | hang | fail | denied | unsupported
//                                 hang: does not answer for a minute, ignoring SIGTERM (only SIGKILL ends it sooner)
//                                 fail: the driver is unreachable: every command prints that and exits 9
//                                 denied: not root: queries work, -pl fails with exit 4
//                                 unsupported: a laptop GPU: queries work, -pl says "not supported" and exits 0
//   FAKE_NVIDIA_SMI_LOG           file to append one JSON line per invocation to: {"pid", "argv"}
//   FAKE_NVIDIA_SMI_LIST_FIXTURE  text for -L (default: built from the CSV, one "GPU n:" line per row)
//   FAKE_NVIDIA_SMI_STATE         JSON file keeping limits set by -pl, so later queries report them
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const EXIT_INVALID_ARGUMENT = 2; // "A supplied argument or flag is invalid"
const EXIT_NO_PERMISSION = 4; // "The current user does not have permission to access this device or perform this operation"
const EXIT_NOT_FOUND = 6; // "A query to find an object was unsuccessful"
const EXIT_DRIVER_NOT_LOADED = 9; // "NVIDIA driver is not loaded"
const EXIT_HUNG_GAVE_UP = 124; // the fake's own, as timeout(1) uses; the real tool has no such status

// The fields the fake can answer: the ones in Switchyard's query, in the fixture's column order.
const FIXTURE_COLUMNS = [
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
];
// The unit nvidia-smi gives each of those fields in a header (`memory.total [MiB]`) and on values without `nounits`.
const FIELD_UNITS = {
  'memory.total': 'MiB',
  'memory.used': 'MiB',
  'utilization.gpu': '%',
  'power.draw': 'W',
  'power.limit': 'W',
  'power.min_limit': 'W',
  'power.max_limit': 'W',
};
// PCI bus ids of the eight GPUs on an HGX H100 board, for the messages that name a GPU by bus id.
const BUS_IDS = ['18', '2A', '3A', '5D', '9A', 'AB', 'BA', 'DB'];

const fixtureText = (name) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const busId = (index) =>
  `00000000:${BUS_IDS[index] ?? (0x10 + index).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
const watts = (value) => `${Number(value).toFixed(2)} W`;

/** Prints as nvidia-smi does (its messages go to stdout, errors included) and exits. */
function finish(text, status) {
  process.stdout.write(text, () => process.exit(status));
}

function readRows() {
  const path = process.env.FAKE_NVIDIA_SMI_FIXTURE;
  if (path === undefined) {
    process.stderr.write('fake-nvidia-smi: set FAKE_NVIDIA_SMI_FIXTURE to a CSV fixture\n');
    process.exit(EXIT_INVALID_ARGUMENT);
  }
  const limits = readState();
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const values = line.split(',').map((value) => value.trim());
      // A line that is not a full row is kept as it stands, so a test can feed the client broken output.
      if (values.length !== FIXTURE_COLUMNS.length) return { brokenLine: line };
      const row = Object.fromEntries(values.map((value, at) => [FIXTURE_COLUMNS[at], value]));
      const setWatts = limits[row.index];
      return setWatts === undefined ? row : { ...row, 'power.limit': setWatts.toFixed(2) };
    });
}

function readState() {
  const path = process.env.FAKE_NVIDIA_SMI_STATE;
  return path !== undefined && existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
}

function query(fieldList, format) {
  const fields = fieldList.split(',');
  const [kind, ...options] = format.split(',');
  const unknown = fields.find((field) => !FIXTURE_COLUMNS.includes(field));
  if (unknown !== undefined) finish(`Field "${unknown}" is not a valid field to query.\n\n`, EXIT_INVALID_ARGUMENT);
  else if (kind !== 'csv' || options.some((option) => option !== 'noheader' && option !== 'nounits')) {
    // The real tool knows only csv and these two options; the fake's own wording, not the tool's.
    process.stderr.write(`fake-nvidia-smi: --format takes csv[,noheader][,nounits], got ${format}\n`);
    process.exit(EXIT_INVALID_ARGUMENT);
  } else {
    const withUnits = !options.includes('nounits');
    // nvidia-smi prints a unit after a figure only: a bracketed "[N/A]" stays as it is.
    const value = (row, field) =>
      withUnits && FIELD_UNITS[field] !== undefined && /^[\d.]+$/.test(row[field])
        ? `${row[field]} ${FIELD_UNITS[field]}`
        : row[field];
    const print = (row) => row.brokenLine ?? fields.map((field) => value(row, field)).join(', ');
    const header = options.includes('noheader')
      ? ''
      : `${fields.map((field) => (FIELD_UNITS[field] === undefined ? field : `${field} [${FIELD_UNITS[field]}]`)).join(', ')}\n`;
    finish(
      header +
        readRows()
          .map((row) => `${print(row)}\n`)
          .join(''),
      0,
    );
  }
}

function listGpus() {
  const listPath = process.env.FAKE_NVIDIA_SMI_LIST_FIXTURE;
  if (listPath !== undefined) return finish(readFileSync(listPath, 'utf8'), 0);
  const rows = readRows().filter((row) => row.brokenLine === undefined);
  if (rows.length === 0) return finish('No devices were found\n', EXIT_NOT_FOUND);
  finish(rows.map((row) => `GPU ${row.index}: ${row.name} (UUID: ${row.uuid})\n`).join(''), 0);
}

function setPowerLimit(indexText, wattsText) {
  const row = readRows().find((candidate) => candidate.index === indexText);
  if (row === undefined) return finish('No devices were found\n', EXIT_NOT_FOUND);
  const bus = busId(Number(row.index));
  if (process.env.FAKE_NVIDIA_SMI_MODE === 'denied') {
    // The fixture is GPU 0's message; the real tool names whichever GPU it was asked to change.
    return finish(fixtureText('pl-insufficient-permissions.txt').replace('00000000:18:00.0', bus), EXIT_NO_PERMISSION);
  }
  if (process.env.FAKE_NVIDIA_SMI_MODE === 'unsupported') {
    // A real laptop GPU's answer (fixtures/real), its bus id swapped; a warning, so the status is 0.
    return finish(
      fixtureText('real/pl_not-supported-rtx-4080-laptop_nvidia-oc-22.txt').replace('00000000:01:00.0', bus),
      0,
    );
  }
  const requested = Number(wattsText);
  const min = Number(row['power.min_limit']);
  const max = Number(row['power.max_limit']);
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    // Not exercised by Switchyard (it skips cards without a range); worded as the fake's own refusal.
    return finish(`fake-nvidia-smi: GPU ${bus} reports no power limit range\n`, EXIT_INVALID_ARGUMENT);
  }
  if (!Number.isFinite(requested) || requested < min || requested > max) {
    return finish(
      `Provided power limit ${watts(requested)} is not a valid power limit which should be between ${watts(min)} and ${watts(max)} for GPU ${bus}\nTerminating early due to previous errors.\n`,
      EXIT_INVALID_ARGUMENT,
    );
  }
  const statePath = process.env.FAKE_NVIDIA_SMI_STATE;
  if (statePath !== undefined) writeFileSync(statePath, JSON.stringify({ ...readState(), [row.index]: requested }));
  finish(
    `Power limit for GPU ${bus} was set to ${watts(requested)} from ${watts(row['power.limit'])}.\nAll done.\n`,
    0,
  );
}

const argv = process.argv.slice(2);
const logPath = process.env.FAKE_NVIDIA_SMI_LOG;
if (logPath !== undefined) appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, argv })}\n`);

const mode = process.env.FAKE_NVIDIA_SMI_MODE ?? 'ok';
if (mode === 'hang') {
  // A tool stuck in the driver: it neither answers nor yields to SIGTERM.
  process.on('SIGTERM', () => {});
  // Gives up after a minute, far past any test's timeout, so a failing test cannot leave it behind for good.
  setTimeout(() => process.exit(EXIT_HUNG_GAVE_UP), 60_000);
} else if (mode === 'fail') {
  finish(fixtureText('driver-communication-failure.txt'), EXIT_DRIVER_NOT_LOADED);
} else if (mode !== 'ok' && mode !== 'denied' && mode !== 'unsupported') {
  process.stderr.write(
    `fake-nvidia-smi: unknown FAKE_NVIDIA_SMI_MODE "${mode}" (ok, hang, fail, denied or unsupported)\n`,
  );
  process.exit(EXIT_INVALID_ARGUMENT);
} else {
  const queryArg = argv.find((arg) => arg.startsWith('--query-gpu='));
  const formatArg = argv.find((arg) => arg.startsWith('--format='));
  if (queryArg !== undefined && formatArg !== undefined && argv.length === 2) {
    query(queryArg.slice('--query-gpu='.length), formatArg.slice('--format='.length));
  } else if (argv.length === 1 && argv[0] === '-L') {
    listGpus();
  } else if (argv.length === 4 && argv[0] === '-i' && argv[2] === '-pl') {
    setPowerLimit(argv[1], argv[3]);
  } else {
    finish(`Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n\n`, EXIT_INVALID_ARGUMENT);
  }
}
