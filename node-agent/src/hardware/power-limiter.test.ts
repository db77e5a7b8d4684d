import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getModel, getProfile } from '@switchyard/fleet-model';
import { ErrorReply, PowerLimitAck } from '@switchyard/protocol';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NullBackend } from '../backends/null-backend.js';
import { applyPowerLimit } from '../power-limit.js';
import { NvidiaSmiProbe } from './nvidia/nvidia-probe.js';
import { nvidiaPowerLimiter } from './power-limiter.js';
import { TelemetrySampler } from './telemetry-sampler.js';

const FAKE = fileURLToPath(new URL('./nvidia/fake-nvidia-smi.mjs', import.meta.url));
const H100_FIXTURE = fileURLToPath(new URL('./nvidia/fixtures/h100-sxm-8x.csv', import.meta.url));
const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const bytes = (body: object): Uint8Array => new TextEncoder().encode(JSON.stringify(body));

/** A node on the fake nvidia-smi (8× H100) whose `-pl` limits persist between runs, as on a real card. */
async function gpuNode(mode: 'ok' | 'denied', dryRun = false) {
  vi.stubEnv('FAKE_NVIDIA_SMI_MODE', mode);
  vi.stubEnv('FAKE_NVIDIA_SMI_FIXTURE', H100_FIXTURE);
  vi.stubEnv('FAKE_NVIDIA_SMI_STATE', join(mkdtempSync(join(tmpdir(), 'limiter-')), 'state.json'));
  const sampler = new TelemetrySampler(new NvidiaSmiProbe({ binary: FAKE, timeoutMs: 10_000 }), QUIET);
  await sampler.sample();
  const backend = new NullBackend({ profile: getProfile('h100')!, chipCount: 8 }, [], getModel, {
    firstToken: () => {},
    text: () => {},
    completed: () => {},
    failed: () => {},
  });
  const hardware = nvidiaPowerLimiter(sampler, { binary: FAKE, timeoutMs: 10_000, dryRun, log: QUIET });
  return { sampler, backend, target: { nodeId: 'gpu-0', backend, log: QUIET, stopped: false, hardware } };
}

beforeAll(() => chmodSync(FAKE, 0o755));
afterEach(() => vi.unstubAllEnvs());

describe('power limits on NVIDIA GPUs', () => {
  it('shares the node limit across the cards with nvidia-smi -pl and acks what the cards now report', async () => {
    const { sampler, backend, target } = await gpuNode('ok');
    const before = sampler.latest!.devices.reduce((sum, d) => sum + d.powerLimitWatts!, 0);
    const reply = PowerLimitAck.parse(await applyPowerLimit(bytes({ v: 1, limitWatts: 3_200, reason: 'cap' }), target));
    // The fixture's node has two cards capped at 500 W already.
    expect(before).toBe(5_200);
    expect(reply.appliedWatts).toBe(3_200);
    expect(sampler.latest!.devices.map((d) => d.powerLimitWatts)).toEqual(Array.from({ length: 8 }, () => 400));
    expect(backend.status().powerLimitWatts).toBe(3_200);
    await sampler.stop();
  }, 60_000);

  it('changes nothing in a dry run and acks the limit the cards still have', async () => {
    const { sampler, target } = await gpuNode('ok', true);
    const reply = PowerLimitAck.parse(await applyPowerLimit(bytes({ v: 1, limitWatts: 3_200, reason: 'cap' }), target));
    expect(reply.appliedWatts).toBe(5_200);
    await sampler.sample();
    expect(sampler.latest!.devices.map((d) => d.powerLimitWatts)).toEqual([700, 700, 700, 700, 500, 500, 700, 700]);
    await sampler.stop();
  }, 60_000);

  it('answers INTERNAL saying root is needed when nvidia-smi refuses, and leaves the backend alone', async () => {
    const { sampler, backend, target } = await gpuNode('denied');
    const before = backend.status().powerLimitWatts;
    const reply = ErrorReply.parse(await applyPowerLimit(bytes({ v: 1, limitWatts: 3_200, reason: 'cap' }), target));
    expect(reply.error.code).toBe('INTERNAL');
    expect(reply.error.message).toMatch(/gpu-0 could not apply a 3200 W power limit: .*(root|admin)/i);
    expect(backend.status().powerLimitWatts).toBe(before);
    await sampler.stop();
  }, 60_000);
});
