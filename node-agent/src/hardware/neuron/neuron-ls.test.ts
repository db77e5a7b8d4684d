import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { parseNeuronLs, runNeuronLs } from './neuron-ls.js';

const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(fixturePath(name), 'utf8'));
const FAKE_LS = fixturePath('fake-neuron-ls.mjs');
const GiB = 1024 ** 3;

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ProbeError);
  return outcome as ProbeError;
}

/** What parsing `json` threw, or the string 'nothing thrown'. */
function parseFailure(json: unknown): unknown {
  try {
    parseNeuronLs(json);
  } catch (err) {
    return err;
  }
  return 'nothing thrown';
}

const fakeEnv = (mode: string) => ({
  FAKE_NEURON_LS_MODE: mode,
  FAKE_NEURON_LS_FIXTURE: fixturePath('neuron-ls-trn2-48xlarge.json'),
});

describe('parseNeuronLs', () => {
  it('reads a trn2.48xlarge listing: 16 devices with BDF, memory, cores and NeuronLink peers', () => {
    const devices = parseNeuronLs(fixture('neuron-ls-trn2-48xlarge.json'));
    expect(devices.map((d) => d.index)).toEqual([...Array(16).keys()]);
    expect(devices[0]).toEqual({
      index: 0,
      bdf: '0000:cc:00.0',
      memoryBytes: 96 * GiB,
      neuroncoreCount: 4,
      neuroncoreIds: [0, 1, 2, 3],
      connectedTo: [12, 3, 4, 1],
    });
    expect(devices[15]?.bdf).toBe('0000:f7:00.0');
  });

  it('reads a single-device trn1.2xlarge listing, where connected_to is null', () => {
    expect(parseNeuronLs(fixture('neuron-ls-trn1-2xlarge.json'))).toEqual([
      {
        index: 0,
        bdf: '0000:00:1e.0',
        memoryBytes: 32 * GiB,
        neuroncoreCount: 2,
        neuroncoreIds: [0, 1],
        connectedTo: [],
      },
    ]);
  });

  it('sorts by index and accepts a list wrapped in neuron_devices', () => {
    const devices = parseNeuronLs({ neuron_devices: [{ neuron_device: 3 }, { neuron_device: 1 }] });
    expect(devices.map((d) => d.index)).toEqual([1, 3]);
    expect(devices[0]).toEqual({
      index: 1,
      bdf: undefined,
      memoryBytes: undefined,
      neuroncoreCount: undefined,
      neuroncoreIds: undefined,
      connectedTo: [],
    });
  });

  it('leaves malformed optional fields undefined', () => {
    const [device] = parseNeuronLs([
      { neuron_device: 0, bdf: 7, memory_size: '32 GB', nc_count: -2, neuroncore_ids: [0, 'x'], connected_to: 'none' },
    ]);
    expect(device).toMatchObject({ bdf: undefined, memoryBytes: undefined, neuroncoreCount: undefined });
    expect(device?.neuroncoreIds).toBeUndefined();
    expect(device?.connectedTo).toEqual([]);
  });

  it('reads an empty list as no devices', () => {
    expect(parseNeuronLs([])).toEqual([]);
  });

  it.each([
    ['an object that is not a list', { devices: [] }],
    ['a string', 'NEURON DEVICE | NEURON CORES'],
    ['null', null],
    ['an entry that is not an object', [1]],
    ['an entry without neuron_device', [{ bdf: '0000:00:1e.0' }]],
    ['a negative index', [{ neuron_device: -1 }]],
    ['an index as a string', [{ neuron_device: '0' }]],
    ['the same device twice', [{ neuron_device: 0 }, { neuron_device: 0 }]],
  ])('refuses %s with PROBE_OUTPUT', (_case, json) => {
    expect(parseFailure(json)).toMatchObject({ name: 'ProbeError', code: 'PROBE_OUTPUT' });
  });
});

describe('runNeuronLs against a fake neuron-ls', () => {
  beforeAll(async () => {
    await chmod(FAKE_LS, 0o755); // in case a checkout lost the executable bit
  });

  it('runs the tool with --json-output and parses its list', async () => {
    const devices = await runNeuronLs(FAKE_LS, { timeoutMs: 10_000, env: fakeEnv('ok') });
    expect(devices).toHaveLength(16);
  });

  it('reports a host without a working driver as PROBE_FAILED with the tool message', async () => {
    const error = await rejection(runNeuronLs(FAKE_LS, { timeoutMs: 10_000, env: fakeEnv('no-driver') }));
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain('failed to discover Neuron devices');
  });

  it('reports output that is not JSON as PROBE_OUTPUT', async () => {
    expect((await rejection(runNeuronLs(FAKE_LS, { timeoutMs: 10_000, env: fakeEnv('garbage') }))).code).toBe(
      'PROBE_OUTPUT',
    );
  });

  it('reports a tool that never answers as PROBE_TIMEOUT', async () => {
    const started = Date.now();
    expect((await rejection(runNeuronLs(FAKE_LS, { timeoutMs: 800, env: fakeEnv('hang') }))).code).toBe(
      'PROBE_TIMEOUT',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a missing binary as PROBE_UNAVAILABLE', async () => {
    const error = await rejection(runNeuronLs('/nonexistent/neuron-ls', { timeoutMs: 10_000 }));
    expect(error.code).toBe('PROBE_UNAVAILABLE');
  });

  it('runs the tool once per call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'neuron-ls-test-'));
    try {
      const callsFile = join(dir, 'calls');
      await runNeuronLs(FAKE_LS, {
        timeoutMs: 10_000,
        env: { ...fakeEnv('ok'), FAKE_NEURON_LS_CALLS_FILE: callsFile },
      });
      expect((await readFile(callsFile, 'utf8')).trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
