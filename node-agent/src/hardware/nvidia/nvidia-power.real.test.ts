import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyNvidiaPowerLimitRun } from './nvidia-power.js';
import type { NvidiaSmiRun } from './run-nvidia-smi.js';

// What nvidia-smi printed to real `-pl` commands (fixtures/real, sources in fixtures/SOURCES.md).
// The sources show the words but not the exit status: the statuses below are nvidia-smi's
// documented ones (0 for success and for a warning, 4 for no permission), and the refusals are
// also checked under other statuses, since the client must know them by their words.

const realFixture = (name: string): string => readFileSync(new URL(`./fixtures/real/${name}`, import.meta.url), 'utf8');
const run = (stdout: string, exitCode: number): NvidiaSmiRun => ({ exitCode, signal: null, stdout, stderr: '' });

describe('classifyNvidiaPowerLimitRun on real nvidia-smi -pl output', () => {
  it('reads a limit set on four GPUs at once (no -i), one change per GPU', () => {
    expect(classifyNvidiaPowerLimitRun(run(realFixture('pl_success-4-gpus_h2ogpt.txt'), 0))).toEqual({
      kind: 'set',
      changes: ['00000000:3B:00.0', '00000000:5E:00.0', '00000000:86:00.0', '00000000:AF:00.0'].map((busId) => ({
        busId,
        fromWatts: 300,
        toWatts: 250,
      })),
    });
  });

  it('reads a limit set on an RTX 3090', () => {
    expect(classifyNvidiaPowerLimitRun(run(realFixture('pl_success-rtx-3090_telegraf-15279.txt'), 0))).toEqual({
      kind: 'set',
      changes: [{ busId: '00000000:00:10.0', fromWatts: 350, toWatts: 210 }],
    });
  });

  it.each([0, 2, 255])('reads a limit below the range as out of range, with the range (exit %i)', (exitCode) => {
    expect(classifyNvidiaPowerLimitRun(run(realFixture('pl_out-of-range_stackhpc-975.txt'), exitCode))).toEqual({
      kind: 'out-of-range',
      rangeWatts: { min: 200, max: 700 },
    });
  });

  it.each([4, 0, 1])('reads "Insufficient Permissions" as not permitted (exit %i)', (exitCode) => {
    expect(
      classifyNvidiaPowerLimitRun(run(realFixture('pl_insufficient-permissions_nvidia-docker-495.txt'), exitCode)),
    ).toEqual({ kind: 'not-permitted' });
  });

  it.each([0, 3])('reads a laptop GPU without the knob as not supported (exit %i)', (exitCode) => {
    expect(
      classifyNvidiaPowerLimitRun(run(realFixture('pl_not-supported-rtx-4080-laptop_nvidia-oc-22.txt'), exitCode)),
    ).toEqual({ kind: 'not-supported' });
  });

  it('reads exit 4 as not permitted whatever the words, and another failure as failed', () => {
    expect(classifyNvidiaPowerLimitRun(run('', 4))).toEqual({ kind: 'not-permitted' });
    const noDriver = realFixture('../driver-communication-failure.txt');
    expect(classifyNvidiaPowerLimitRun(run(noDriver, 9))).toEqual({ kind: 'failed' });
  });

  it('reads the refusal on stderr as well as on stdout', () => {
    const stderr = realFixture('pl_insufficient-permissions_nvidia-docker-495.txt');
    expect(classifyNvidiaPowerLimitRun({ exitCode: 1, signal: null, stdout: '', stderr })).toEqual({
      kind: 'not-permitted',
    });
  });
});
