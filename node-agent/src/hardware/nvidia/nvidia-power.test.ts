import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceReading } from '../probe.js';
import { NvidiaSmiProbe } from './nvidia-probe.js';
import { applyNvidiaPowerLimit, NvidiaPowerLimitError, type NvidiaPowerLimitResult } from './nvidia-power.js';
import { parseNvidiaSmiCsv } from './nvidia-smi-csv.js';

const FAKE = fileURLToPath(new URL('./fake-nvidia-smi.mjs', import.meta.url));
const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const readingsOf = (name: string): DeviceReading[] => parseNvidiaSmiCsv(readFileSync(fixturePath(name), 'utf8'));
/** Generous: the fake is a Node process, and a loaded 2-core VM can take a second to start one. */
const ROOMY_TIMEOUT_MS = 10_000;

const h100s = readingsOf('h100-sxm-8x.csv');
const mixed = readingsOf('mixed-node.csv');

let scratch: string;
let logPath: string;

function fake(mode: 'ok' | 'hang' | 'fail' | 'denied' | 'unsupported', fixture = 'h100-sxm-8x.csv'): void {
  vi.stubEnv('FAKE_NVIDIA_SMI_MODE', mode);
  vi.stubEnv('FAKE_NVIDIA_SMI_FIXTURE', fixturePath(fixture));
  vi.stubEnv('FAKE_NVIDIA_SMI_LOG', logPath);
}

/** The argv of each nvidia-smi run, in order. */
function invocations(): string[][] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .trim()
    .split('\n')
    .map((entry) => (JSON.parse(entry) as { argv: string[] }).argv);
}

async function powerLimitError(promise: Promise<unknown>): Promise<NvidiaPowerLimitError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (reason: unknown) => reason,
  );
  if (!(error instanceof NvidiaPowerLimitError)) throw error;
  return error;
}

const wattsByIndex = (result: NvidiaPowerLimitResult): Record<number, number> =>
  Object.fromEntries(result.perDevice.map((limit) => [limit.index, limit.watts]));

beforeAll(() => {
  // A checkout may not keep the executable bit (core.fileMode=false); the tests run the fake directly.
  chmodSync(FAKE, 0o755);
  execFileSync(FAKE, ['-L'], { env: { ...process.env, FAKE_NVIDIA_SMI_FIXTURE: fixturePath('h100-sxm-8x.csv') } });
});

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nvidia-power-'));
  logPath = join(scratch, 'invocations.log');
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(scratch, { recursive: true, force: true });
});

describe('applyNvidiaPowerLimit planning (dry run)', () => {
  const h100Pair = h100s.slice(0, 2);
  it.each([
    ['an even share inside every range', h100s, 4000, { 0: 500, 1: 500, 7: 500 }, 4000, 0],
    ['whole watts, the spare watt to the lower index', h100Pair, 1001.9, { 0: 501, 1: 500 }, 1001, 0],
    ['a share below the minimum: every GPU at 200 W', h100s, 1000, { 0: 200, 7: 200 }, 1600, 600],
    ['a share above the maximum: every GPU at 700 W', h100s, 9000, { 0: 700, 7: 700 }, 5600, 0],
    ['a T4 capped at 70 W, the rest to the A100', mixed, 200, { 0: 130, 1: 70 }, 200, 0],
    ['an A100 held at its 100 W minimum, the T4 given less', mixed, 165, { 0: 100, 1: 65 }, 165, 0],
    ['both cards at their maximum', mixed, 600, { 0: 400, 1: 70 }, 470, 0],
    ['both cards at their minimum', mixed, 100, { 0: 100, 1: 60 }, 160, 60],
  ])('plans %s', async (_case, devices, nodeLimitWatts, expected, plannedWatts, overLimitWatts) => {
    const result = await applyNvidiaPowerLimit({ binary: FAKE, devices, nodeLimitWatts, dryRun: true });
    expect(wattsByIndex(result)).toMatchObject(expected);
    expect(result).toMatchObject({ dryRun: true, appliedWatts: 0, plannedWatts, overLimitWatts });
    expect(result.perDevice.every((limit) => Number.isInteger(limit.watts))).toBe(true);
    expect(invocations()).toEqual([]);
  });

  it('returns one nvidia-smi -i <index> -pl <watts> command per GPU', async () => {
    const result = await applyNvidiaPowerLimit({ devices: h100s.slice(0, 2), nodeLimitWatts: 900, dryRun: true });
    expect(result.commands).toEqual([
      ['nvidia-smi', '-i', '0', '-pl', '450'],
      ['nvidia-smi', '-i', '1', '-pl', '450'],
    ]);
  });

  it('skips GPUs without a limit range and says why', async () => {
    const result = await applyNvidiaPowerLimit({ devices: mixed, nodeLimitWatts: 200, dryRun: true });
    expect(result.perDevice.map((limit) => limit.index)).toEqual([0, 1]);
    expect(result.skipped).toEqual([
      {
        index: 2,
        id: 'GPU-7872bc5f-34d6-47d5-3c05-12cb2a626ea2',
        kind: 'no-range',
        reason: expect.stringContaining('MIG instance'),
      },
      {
        index: 3,
        id: 'GPU-cc49b4dd-598f-d402-1287-e613230dd007',
        kind: 'no-range',
        reason: expect.stringContaining('MIG instance'),
      },
    ]);
  });

  it('keeps fractional ranges to the whole watts inside them', async () => {
    const odd = { ...h100s[0]!, powerLimitRangeWatts: { min: 62.5, max: 70.9 } };
    const low = await applyNvidiaPowerLimit({ devices: [odd], nodeLimitWatts: 10, dryRun: true });
    const high = await applyNvidiaPowerLimit({ devices: [odd], nodeLimitWatts: 100, dryRun: true });
    expect([low.perDevice[0]?.watts, high.perDevice[0]?.watts]).toEqual([63, 70]);
    const none = { ...odd, powerLimitRangeWatts: { min: 62.2, max: 62.8 } };
    const skipped = await applyNvidiaPowerLimit({ devices: [none], nodeLimitWatts: 100, dryRun: true });
    expect(skipped.skipped[0]).toMatchObject({
      kind: 'no-whole-watts',
      reason: expect.stringContaining('no whole number'),
    });
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a node limit of %s W', async (nodeLimitWatts) => {
    await expect(applyNvidiaPowerLimit({ devices: h100s, nodeLimitWatts, dryRun: true })).rejects.toThrow(RangeError);
  });
});

describe('applyNvidiaPowerLimit against nvidia-smi', () => {
  it('sets every GPU and the next reading shows the new limits', async () => {
    fake('ok');
    vi.stubEnv('FAKE_NVIDIA_SMI_STATE', join(scratch, 'limits.json'));
    const result = await applyNvidiaPowerLimit({
      binary: FAKE,
      devices: h100s,
      nodeLimitWatts: 3600,
      timeoutMs: ROOMY_TIMEOUT_MS,
    });
    expect(result).toMatchObject({ dryRun: false, appliedWatts: 3600, plannedWatts: 3600, overLimitWatts: 0 });
    expect(invocations()).toEqual(h100s.map((device) => ['-i', String(device.index), '-pl', '450']));
    const reading = await new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS }).read();
    expect(reading.devices.map((device) => device.powerLimitWatts)).toEqual(h100s.map(() => 450));
  });

  it('stops at the first refusal when not root, applying nothing', async () => {
    fake('denied');
    const error = await powerLimitError(
      applyNvidiaPowerLimit({ binary: FAKE, devices: h100s, nodeLimitWatts: 4000, timeoutMs: ROOMY_TIMEOUT_MS }),
    );
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain('requires root (or an administrator)');
    expect(error.message).toContain('Insufficient Permissions (exit 4)');
    expect(error.message).toContain('no GPU was changed');
    expect(error.answer).toEqual({ kind: 'not-permitted' });
    expect(error.result).toMatchObject({ appliedWatts: 0, perDevice: [] });
    expect(invocations()).toHaveLength(1);
  });

  it('skips each GPU that says its limit cannot be changed, as nvidia-smi itself moves on', async () => {
    fake('unsupported');
    const result = await applyNvidiaPowerLimit({
      binary: FAKE,
      devices: h100s.slice(0, 3),
      nodeLimitWatts: 1500,
      timeoutMs: ROOMY_TIMEOUT_MS,
    });
    expect(result).toMatchObject({ appliedWatts: 0, plannedWatts: 1500, perDevice: [] });
    expect(result.skipped).toEqual(
      h100s.slice(0, 3).map((device) => ({
        index: device.index,
        id: device.id,
        kind: 'not-supported',
        reason: expect.stringContaining('Changing power management limit is not supported for GPU'),
      })),
    );
    expect(invocations()).toHaveLength(3);
  });

  it('reports the GPUs set before a failure, and not the failing one', async () => {
    fake('ok', 'mixed-node.csv');
    // The reading claims the T4 takes up to 300 W; the card (the fixture) allows 60..70 W and refuses.
    const devices = mixed.map((device) =>
      device.index === 1 ? { ...device, powerLimitRangeWatts: { min: 60, max: 300 } } : device,
    );
    const error = await powerLimitError(
      applyNvidiaPowerLimit({ binary: FAKE, devices, nodeLimitWatts: 400, timeoutMs: ROOMY_TIMEOUT_MS }),
    );
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain('could not set GPU 1 to 200 W');
    expect(error.message).toContain('is not a valid power limit');
    expect(error.message).toContain('GPUs 0 were set');
    expect(error.answer).toEqual({ kind: 'out-of-range', rangeWatts: { min: 60, max: 70 } });
    expect(error.result).toMatchObject({ appliedWatts: 200, perDevice: [{ index: 0, watts: 200 }] });
  });

  it('reports a dead driver as PROBE_FAILED with its message', async () => {
    fake('fail');
    const error = await powerLimitError(
      applyNvidiaPowerLimit({ binary: FAKE, devices: h100s, nodeLimitWatts: 4000, timeoutMs: ROOMY_TIMEOUT_MS }),
    );
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain("couldn't communicate with the NVIDIA driver");
    expect(error.message).toContain('(exit 9)');
    expect(error.answer).toEqual({ kind: 'failed' });
    expect(error.result.appliedWatts).toBe(0);
  });

  it('reports a missing binary as PROBE_UNAVAILABLE and a hang as PROBE_TIMEOUT', async () => {
    const missing = await powerLimitError(
      applyNvidiaPowerLimit({ binary: join(scratch, 'no-such-nvidia-smi'), devices: h100s, nodeLimitWatts: 4000 }),
    );
    expect(missing.code).toBe('PROBE_UNAVAILABLE');
    fake('hang');
    const hung = await powerLimitError(
      applyNvidiaPowerLimit({ binary: FAKE, devices: h100s, nodeLimitWatts: 4000, timeoutMs: 500 }),
    );
    expect(hung.code).toBe('PROBE_TIMEOUT');
    expect(hung.result.appliedWatts).toBe(0);
  });
});
