import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { listsAnyGpu, parseNvidiaSmiList } from './nvidia-smi-list.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function listError(text: string): ProbeError {
  try {
    parseNvidiaSmiList(text);
  } catch (error) {
    if (error instanceof ProbeError) return error;
    throw error;
  }
  throw new Error('expected parseNvidiaSmiList to throw');
}

describe('parseNvidiaSmiList', () => {
  it('reads GPUs with and without MIG devices under them', () => {
    const gpus = parseNvidiaSmiList(fixture('list-gpus-mig.txt'));
    expect(
      gpus.map(({ index, name, migDevices }) => [index, name, migDevices.map((device) => device.profile)]),
    ).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', ['3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb']],
      [1, 'Tesla T4', []],
      [2, 'GeForce GTX 1050 Ti', []],
      [3, 'GeForce 920M', []],
    ]);
  });

  it('reads the MIG UUIDs older drivers printed, and CRLF line ends', () => {
    const text =
      'GPU 0: A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)\r\n' +
      '  MIG 1g.5gb Device 0: (UUID: MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/7/0)\r\n';
    expect(parseNvidiaSmiList(text)[0]?.migDevices).toEqual([
      { index: 0, profile: '1g.5gb', uuid: 'MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/7/0' },
    ]);
  });

  it('reads empty output as no GPUs', () => {
    expect(parseNvidiaSmiList('')).toEqual([]);
    expect(parseNvidiaSmiList('\n\n')).toEqual([]);
  });

  it.each([
    ['a message instead of a list', 'No devices were found\n', 'line 1 is neither a GPU nor a MIG device'],
    [
      'a MIG device before any GPU',
      '  MIG 1g.10gb     Device  0: (UUID: MIG-a)\n',
      'line 1 lists a MIG device before any GPU',
    ],
    ['a GPU listed twice', 'GPU 0: A (UUID: GPU-a)\nGPU 0: B (UUID: GPU-b)\n', 'line 2 repeats GPU 0'],
    [
      'a MIG device listed twice',
      'GPU 0: A (UUID: GPU-a)\n  MIG 1g.10gb Device 0: (UUID: MIG-a)\n  MIG 1g.10gb Device 0: (UUID: MIG-b)\n',
      'line 3 repeats MIG device 0 of GPU 0',
    ],
    ['a GPU line without its UUID', 'GPU 0: NVIDIA H100 80GB HBM3\n', 'line 1 is neither'],
  ])('rejects %s, naming the line', (_case, text, why) => {
    const error = listError(text);
    expect(error.code).toBe('PROBE_OUTPUT');
    expect(error.message).toContain(why);
  });
});

describe('listsAnyGpu', () => {
  it('finds a GPU line among other lines, and none in a message', () => {
    expect(listsAnyGpu('WARNING: infoROM is corrupted at gpu 0000:01:00.0\nGPU 0: Tesla T4 (UUID: GPU-a)\n')).toBe(
      true,
    );
    expect(listsAnyGpu('No devices were found\n')).toBe(false);
    expect(listsAnyGpu('')).toBe(false);
  });
});
