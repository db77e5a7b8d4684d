import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { NeuronMonitorProbe, type NeuronMonitorProbeOptions, neuronMonitorConfig } from './neuron-probe.js';

const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const FAKE_MONITOR = fixturePath('fake-neuron-monitor.mjs');
const FAKE_LS = fixturePath('fake-neuron-ls.mjs');
/** 30 s after the sysfs fixtures' power sample (2026-01-01T00:00:00Z). */
const NOW_MS = 1_767_225_630_000;
const GiB = 1024 ** 3;

const probes: NeuronMonitorProbe[] = [];
afterEach(async () => {
  await Promise.all(probes.splice(0).map((probe) => probe.close()));
});

/** A probe on the fake tools: trn2.48xlarge fixtures, 100 ms reports unless the env says otherwise. */
function fakeProbe(env: Record<string, string> = {}, options: NeuronMonitorProbeOptions = {}): NeuronMonitorProbe {
  const probe = new NeuronMonitorProbe({
    monitorBinary: FAKE_MONITOR,
    lsBinary: FAKE_LS,
    sysfsRoot: fixturePath('sysfs'),
    periodSeconds: 0.1,
    timeoutMs: 8_000,
    clock: () => NOW_MS,
    ...options,
    env: {
      FAKE_NEURON_MONITOR_FIXTURE: fixturePath('neuron-monitor-trn2-48xlarge.json'),
      FAKE_NEURON_LS_FIXTURE: fixturePath('neuron-ls-trn2-48xlarge.json'),
      ...env,
    },
  });
  probes.push(probe);
  return probe;
}

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ProbeError);
  return outcome as ProbeError;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  // In case a checkout lost the executable bit.
  await Promise.all([chmod(FAKE_MONITOR, 0o755), chmod(FAKE_LS, 0o755)]);
});

describe('NeuronMonitorProbe against fake Neuron tools', () => {
  it('combines the latest report, neuron-ls and sysfs power into one reading per device', async () => {
    const reading = await fakeProbe().read();
    expect(reading.kind).toBe('neuron');
    expect(reading.readAtMs).toBe(NOW_MS);
    expect(reading.devices).toHaveLength(16);
    expect(reading.devices[0]).toEqual({
      index: 0,
      id: 'neuron0',
      name: 'Trainium2',
      memoryTotalBytes: 96 * GiB,
      memoryUsedBytes: 46_439_333_888,
      utilization: 0.81,
      powerDrawWatts: 312.5, // 62.50 % of the assumed 500 W
      powerLimitWatts: 500,
      powerLimitRangeWatts: undefined,
      temperatureC: undefined,
    });
    expect(reading.devices[1]?.powerDrawWatts).toBeUndefined(); // POWER_STATUS_NO_DATA
    expect(reading.devices[2]).toMatchObject({ utilization: 0.05, powerDrawWatts: 100 });
    expect(reading.devices[3]).toMatchObject({ utilization: 0, memoryUsedBytes: 0, powerDrawWatts: undefined });
  });

  it('runs neuron-monitor with a config asking for its two groups at the period, and reuses one process', async () => {
    expect(neuronMonitorConfig(2)).toEqual({
      period: '2s',
      neuron_runtimes: [{ tag_filter: '.*', metrics: [{ type: 'neuroncore_counters' }, { type: 'memory_used' }] }],
    });
    // The fake refuses a config without both groups or with a malformed period, so a read proves the file.
    const probe = fakeProbe();
    await probe.read();
    const pid = probe.monitorPid;
    await probe.read();
    await probe.read();
    expect(probe.monitorPid).toBe(pid);
  });

  it('runs neuron-ls once and caches its device list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'neuron-probe-test-'));
    try {
      const callsFile = join(dir, 'calls');
      const probe = fakeProbe({ FAKE_NEURON_LS_CALLS_FILE: callsFile });
      for (let i = 0; i < 3; i++) await probe.read();
      expect((await readFile(callsFile, 'utf8')).trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('times out with PROBE_TIMEOUT when the monitor runs but reports nothing', async () => {
    const probe = fakeProbe({ FAKE_NEURON_MONITOR_MODE: 'silent' }, { timeoutMs: 700 });
    const started = Date.now();
    const error = await rejection(probe.read());
    expect(error.code).toBe('PROBE_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails a pending read with PROBE_FAILED when the monitor dies, then restarts it on a later read', async () => {
    const probe = fakeProbe({ FAKE_NEURON_MONITOR_MODE: 'crash' });
    const error = await rejection(probe.read());
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toMatch(/exited \(code 3\).*failed to initialise/);
    // Still crashing: each read starts a new monitor and reports that it failed.
    expect((await rejection(probe.read())).code).toBe('PROBE_FAILED');
  });

  it('reports an exit between reads once as PROBE_FAILED, then restarts the monitor', async () => {
    const probe = fakeProbe({ FAKE_NEURON_MONITOR_MODE: 'exit', FAKE_NEURON_MONITOR_INTERVAL_MS: '150' });
    expect((await probe.read()).devices).toHaveLength(16);
    await waitUntil(() => probe.monitorPid === undefined);
    const error = await rejection(probe.read());
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain('lost the Neuron runtime');
    // No monitor was running: this read started a new one.
    expect((await probe.read()).devices[0]?.utilization).toBe(0.81);
  });

  it('skips and counts garbage, blank and split lines without losing reports', async () => {
    const probe = fakeProbe({ FAKE_NEURON_MONITOR_MODE: 'garbage' });
    const reading = await probe.read();
    expect(reading.devices[0]?.utilization).toBe(0.81);
    await waitUntil(() => probe.unreadableLineCount >= 3);
  });

  it('reports a missing neuron-monitor as PROBE_UNAVAILABLE', async () => {
    const probe = fakeProbe({}, { monitorBinary: '/nonexistent/neuron-monitor' });
    expect((await rejection(probe.read())).code).toBe('PROBE_UNAVAILABLE');
  });

  it('reports a missing neuron-ls as PROBE_UNAVAILABLE', async () => {
    const probe = fakeProbe({}, { lsBinary: '/nonexistent/neuron-ls' });
    expect((await rejection(probe.read())).code).toBe('PROBE_UNAVAILABLE');
  });

  it('reads without power, type or memory size on an older trn1.2xlarge', async () => {
    const probe = fakeProbe(
      {
        FAKE_NEURON_MONITOR_FIXTURE: fixturePath('neuron-monitor-trn1-2xlarge.json'),
        FAKE_NEURON_LS_FIXTURE: fixturePath('neuron-ls-trn1-2xlarge.json'),
      },
      { sysfsRoot: '/nonexistent/neuron_device' },
    );
    const [device] = (await probe.read()).devices;
    expect(device).toMatchObject({
      id: 'neuron0',
      name: 'AWS Neuron device',
      memoryTotalBytes: 32 * GiB, // from neuron-ls: the report lacks neuron_device_memory_size
      utilization: 0.316,
      powerDrawWatts: undefined,
      powerLimitWatts: undefined,
    });
  });

  it('close() kills the monitor, leaves no process or config behind, and refuses later reads', async () => {
    const probe = fakeProbe();
    await probe.read();
    const pid = probe.monitorPid!;
    expect(isAlive(pid)).toBe(true);
    const configDirsBefore = (await readdir(tmpdir())).filter((name) => name.startsWith('switchyard-neuron-monitor-'));
    await probe.close();
    expect(isAlive(pid)).toBe(false);
    expect(probe.monitorPid).toBeUndefined();
    const configDirsAfter = (await readdir(tmpdir())).filter((name) => name.startsWith('switchyard-neuron-monitor-'));
    expect(configDirsAfter.length).toBe(configDirsBefore.length - 1);
    expect((await rejection(probe.read())).code).toBe('PROBE_FAILED');
  });

  it('close() during a read fails that read and kills the monitor', async () => {
    const probe = fakeProbe({ FAKE_NEURON_MONITOR_MODE: 'silent' });
    const pending = rejection(probe.read());
    await waitUntil(() => probe.monitorPid !== undefined);
    const pid = probe.monitorPid!;
    await probe.close();
    expect((await pending).code).toBe('PROBE_FAILED');
    expect(isAlive(pid)).toBe(false);
  });

  it('refuses a timeout no longer than one report period', () => {
    expect(() => new NeuronMonitorProbe({ periodSeconds: 5, timeoutMs: 5_000 })).toThrow(RangeError);
    expect(() => new NeuronMonitorProbe({ periodSeconds: 0 })).toThrow(RangeError);
  });
});

const lsEnv = (mode: string) => ({
  FAKE_NEURON_LS_MODE: mode,
  FAKE_NEURON_LS_FIXTURE: fixturePath('neuron-ls-trn1-2xlarge.json'),
});

describe('NeuronMonitorProbe.detect', () => {
  it('is true when neuron-ls lists a device', async () => {
    await expect(NeuronMonitorProbe.detect(FAKE_LS, { env: lsEnv('ok') })).resolves.toBe(true);
  });

  it.each([
    ['neuron-ls finds no driver', FAKE_LS, 'no-driver'],
    ['neuron-ls prints garbage', FAKE_LS, 'garbage'],
    ['neuron-ls is missing', '/nonexistent/neuron-ls', 'ok'],
  ])('is false when %s', async (_case, binary, mode) => {
    await expect(NeuronMonitorProbe.detect(binary, { env: lsEnv(mode) })).resolves.toBe(false);
  });
});
