import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProbeError } from '../probe.js';
import { NvidiaSmiProbe } from './nvidia-probe.js';
import { NVIDIA_SMI_QUERY_ARGS } from './nvidia-smi-csv.js';

const FAKE = fileURLToPath(new URL('./fake-nvidia-smi.mjs', import.meta.url));
const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** Generous: the fake is a Node process, and a loaded 2-core VM can take a second to start one. */
const ROOMY_TIMEOUT_MS = 10_000;

let scratch: string;
let logPath: string;

/** Points the fake at a fixture and a mode; the probe's child inherits this process's environment. */
function fake(mode: 'ok' | 'hang' | 'fail' | 'denied', fixture = 'h100-sxm-8x.csv'): void {
  vi.stubEnv('FAKE_NVIDIA_SMI_MODE', mode);
  vi.stubEnv('FAKE_NVIDIA_SMI_FIXTURE', fixture.startsWith('/') ? fixture : fixturePath(fixture));
  vi.stubEnv('FAKE_NVIDIA_SMI_LOG', logPath);
}

/** Each invocation the fake logged: its pid and argv. */
function invocations(): { pid: number; argv: string[] }[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .trim()
    .split('\n')
    .map((entry) => JSON.parse(entry) as { pid: number; argv: string[] });
}

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (reason: unknown) => reason,
  );
  if (!(error instanceof ProbeError)) throw error;
  return error;
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

beforeAll(() => {
  // A checkout may not keep the executable bit (core.fileMode=false); the tests run the fake directly.
  chmodSync(FAKE, 0o755);
  // Start Node once so the first timed test does not pay for a cold disk cache.
  execFileSync(FAKE, ['-L'], { env: { ...process.env, FAKE_NVIDIA_SMI_FIXTURE: fixturePath('h100-sxm-8x.csv') } });
});

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nvidia-probe-'));
  logPath = join(scratch, 'invocations.log');
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(scratch, { recursive: true, force: true });
});

describe('NvidiaSmiProbe.read', () => {
  it('runs the query once, without a shell, and parses every GPU', async () => {
    fake('ok');
    const probe = new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS, clock: () => 1_700_000_000_000 });
    const reading = await probe.read();
    expect(reading.kind).toBe('nvidia');
    expect(reading.readAtMs).toBe(1_700_000_000_000);
    expect(reading.devices).toHaveLength(8);
    expect(reading.devices[1]).toMatchObject({ index: 1, utilization: 0.91, powerDrawWatts: 655.02 });
    expect(invocations().map((run) => run.argv)).toEqual([[...NVIDIA_SMI_QUERY_ARGS]]);
    await probe.close();
  });

  it('reads unknown fields on a mixed node as undefined', async () => {
    fake('ok', 'mixed-node.csv');
    const reading = await new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS }).read();
    expect(reading.devices.map((device) => device.powerLimitRangeWatts)).toEqual([
      { min: 100, max: 400 },
      { min: 60, max: 70 },
      undefined,
      undefined,
    ]);
  });

  it('kills a hung nvidia-smi and rejects with PROBE_TIMEOUT once the timeout has passed', async () => {
    fake('hang');
    const timeoutMs = 1500;
    const startedMs = performance.now();
    const error = await rejection(new NvidiaSmiProbe({ binary: FAKE, timeoutMs }).read());
    const elapsedMs = performance.now() - startedMs;
    expect(error.code).toBe('PROBE_TIMEOUT');
    expect(error.message).toContain(`within ${timeoutMs} ms`);
    expect(elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(elapsedMs).toBeLessThan(timeoutMs + 1500);
    // The hung fake ignores SIGTERM; only SIGKILL ends it.
    const [run] = invocations();
    expect(run).toBeDefined();
    expect(await waitUntilGone(run?.pid ?? -1)).toBe(true);
  });

  it('reports a driver it cannot reach as PROBE_FAILED with the tool message and exit status', async () => {
    fake('fail');
    const error = await rejection(new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS }).read());
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toContain(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running. (exit 9)",
    );
  });

  it('reports a missing binary as PROBE_UNAVAILABLE', async () => {
    const error = await rejection(new NvidiaSmiProbe({ binary: join(scratch, 'no-such-nvidia-smi') }).read());
    expect(error.code).toBe('PROBE_UNAVAILABLE');
    expect(error.message).toContain('ENOENT');
  });

  it('reports a binary it may not execute as PROBE_UNAVAILABLE', async () => {
    const notExecutable = join(scratch, 'nvidia-smi');
    writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const error = await rejection(new NvidiaSmiProbe({ binary: notExecutable }).read());
    expect(error.code).toBe('PROBE_UNAVAILABLE');
    expect(error.message).toContain('EACCES');
  });

  it('reports output it cannot parse as PROBE_OUTPUT naming the line', async () => {
    const broken = join(scratch, 'broken.csv');
    writeFileSync(
      broken,
      `${readFileSync(fixturePath('h100-sxm-8x.csv'), 'utf8')}8, GPU-x, NVIDIA H100 80GB HBM3, 81559\n`,
    );
    fake('ok', broken);
    const error = await rejection(new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS }).read());
    expect(error.code).toBe('PROBE_OUTPUT');
    // Line 1 is the header the probe asks for, so the ninth GPU is on line 10.
    expect(error.message).toContain('line 10 has 4 fields where the header on line 1 has 11');
  });

  it('kills a read in flight on close() and refuses reads after it', async () => {
    fake('hang');
    const probe = new NvidiaSmiProbe({ binary: FAKE, timeoutMs: ROOMY_TIMEOUT_MS });
    const startedMs = performance.now();
    const pending = rejection(probe.read());
    // Close once the child is running (it logs first thing).
    for (let attempt = 0; attempt < 200 && invocations().length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await probe.close();
    const error = await pending;
    expect(error.code).toBe('PROBE_UNAVAILABLE');
    expect(performance.now() - startedMs).toBeLessThan(ROOMY_TIMEOUT_MS);
    expect(await waitUntilGone(invocations()[0]?.pid ?? -1)).toBe(true);
    expect((await rejection(probe.read())).code).toBe('PROBE_UNAVAILABLE');
    expect(invocations()).toHaveLength(1);
  });

  it('refuses a timeout that is not a positive number', () => {
    expect(() => new NvidiaSmiProbe({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new NvidiaSmiProbe({ timeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('NvidiaSmiProbe.detect', () => {
  it('finds GPUs listed by nvidia-smi -L', async () => {
    fake('ok');
    expect(await NvidiaSmiProbe.detect(FAKE, ROOMY_TIMEOUT_MS)).toBe(true);
    expect(invocations().map((run) => run.argv)).toEqual([['-L']]);
  });

  it('finds GPUs when MIG devices are listed under them', async () => {
    fake('ok', 'mixed-node.csv');
    vi.stubEnv('FAKE_NVIDIA_SMI_LIST_FIXTURE', fixturePath('list-gpus-mig.txt'));
    expect(await NvidiaSmiProbe.detect(FAKE, ROOMY_TIMEOUT_MS)).toBe(true);
    vi.stubEnv('FAKE_NVIDIA_SMI_LIST_FIXTURE', fixturePath('real/list-gpus_4x-a100-mig-mixed_telegraf-5812.txt'));
    expect(await NvidiaSmiProbe.detect(FAKE, ROOMY_TIMEOUT_MS)).toBe(true);
  });

  it('answers false for no GPUs, a dead driver, a missing binary and a hang', async () => {
    const empty = join(scratch, 'empty.csv');
    writeFileSync(empty, '');
    fake('ok', empty);
    expect(await NvidiaSmiProbe.detect(FAKE, ROOMY_TIMEOUT_MS)).toBe(false);
    fake('fail');
    expect(await NvidiaSmiProbe.detect(FAKE, ROOMY_TIMEOUT_MS)).toBe(false);
    expect(await NvidiaSmiProbe.detect(join(scratch, 'no-such-nvidia-smi'))).toBe(false);
    fake('hang');
    expect(await NvidiaSmiProbe.detect(FAKE, 500)).toBe(false);
  });
});
