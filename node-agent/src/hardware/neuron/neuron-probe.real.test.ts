import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeuronMonitorProbe } from './neuron-probe.js';

// One reading from the three captures all-smi took on the same real, idle trn1.2xlarge
// (fixtures/real, sources in fixtures/SOURCES.md), served by the fake tools: neuron-ls's JSON as
// printed, neuron-monitor's first record, and the driver's power file.

const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const FAKE_MONITOR = fixturePath('fake-neuron-monitor.mjs');
const FAKE_LS = fixturePath('fake-neuron-ls.mjs');
/** 2026-09-12T02:41:18Z, when all-smi's test says the power file was read: 18 s after its sample. */
const READ_AT_MS = 1_789_180_878_000;
const GiB = 1024 ** 3;

let sysfsRoot: string;

beforeAll(async () => {
  await Promise.all([chmod(FAKE_MONITOR, 0o755), chmod(FAKE_LS, 0o755)]);
  sysfsRoot = await mkdtemp(join(tmpdir(), 'neuron-probe-real-'));
  const powerDir = join(sysfsRoot, 'neuron0', 'stats', 'power');
  await mkdir(powerDir, { recursive: true });
  const idleLine = await readFile(fixturePath('real/sysfs-power-utilization_trn1-2xlarge-idle_all-smi.txt'), 'utf8');
  await writeFile(join(powerDir, 'utilization'), `${idleLine}\n`); // the driver ends the file with a newline
});

afterAll(async () => {
  await rm(sysfsRoot, { recursive: true, force: true });
});

describe('NeuronMonitorProbe on the captures of one real trn1.2xlarge', () => {
  it('reads one idle Trainium device with 32 GiB, nothing in use and no power above idle', async () => {
    const probe = new NeuronMonitorProbe({
      monitorBinary: FAKE_MONITOR,
      lsBinary: FAKE_LS,
      sysfsRoot,
      periodSeconds: 0.1,
      timeoutMs: 8_000,
      clock: () => READ_AT_MS,
      env: {
        FAKE_NEURON_MONITOR_FIXTURE: fixturePath('real/neuron-monitor_trn1-2xlarge-no-runtime_all-smi.txt'),
        FAKE_NEURON_LS_FIXTURE: fixturePath('real/neuron-ls-json_trn1-2xlarge_all-smi.txt'),
        FAKE_NEURON_LS_MODE: 'verbatim',
      },
    });
    try {
      expect(await probe.read()).toEqual({
        kind: 'neuron',
        readAtMs: READ_AT_MS,
        devices: [
          {
            index: 0,
            id: 'neuron0',
            name: 'Trainium',
            memoryTotalBytes: 32 * GiB,
            memoryUsedBytes: 0,
            utilization: 0,
            powerDrawWatts: 0, // 0.00 % of the 250 W we assume for a trn1 device
            powerLimitWatts: 250,
            powerLimitRangeWatts: undefined,
            temperatureC: undefined,
          },
        ],
      });
    } finally {
      await probe.close();
    }
  });
});
