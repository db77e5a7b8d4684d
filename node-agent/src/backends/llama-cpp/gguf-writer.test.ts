import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGguf, GgufEncodingError, type GgufContent } from './gguf-writer.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gguf-writer-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const content: GgufContent = {
  metadata: [
    ['general.architecture', { kind: 'string', value: 'llama' }],
    ['general.alignment', { kind: 'uint32', value: 64 }],
    ['test.flag', { kind: 'bool', value: true }],
    ['test.count', { kind: 'uint64', value: 5_000_000_000n }],
    ['test.offset', { kind: 'int32', value: -7 }],
    ['test.scale', { kind: 'float32', value: 0.5 }],
    ['test.words', { kind: 'array', itemKind: 'string', values: ['a', 'bé', ''] }],
    ['test.ids', { kind: 'array', itemKind: 'int32', values: [1, -2, 3] }],
  ],
  tensors: [
    { name: 'first', dims: [3], data: new Float32Array([1, 2, 3]) },
    { name: 'second', dims: [2, 2], data: new Float32Array([-1, 0.25, 8, 1e-3]) },
  ],
  alignment: 64,
};

describe('encodeGguf', () => {
  it('writes a file node-llama-cpp reads back: header, typed metadata, tensor infos', async () => {
    const path = join(directory, 'sample.gguf');
    const file = encodeGguf(content);
    await writeFile(path, file);
    expect(file.subarray(0, 4).toString('ascii')).toBe('GGUF');
    expect(file.readUInt32LE(4)).toBe(3);
    expect(file.readBigUInt64LE(8)).toBe(2n);
    expect(file.readBigUInt64LE(16)).toBe(BigInt(content.metadata.length));

    const info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false });
    expect(info.version).toBe(3);
    expect(info.metadata).toMatchObject({
      general: { architecture: 'llama', alignment: 64 },
      test: { flag: true, count: 5_000_000_000n, offset: -7, scale: 0.5, words: ['a', 'bé', ''], ids: [1, -2, 3] },
    });
    expect(
      info.fullTensorInfo?.map((tensor) => [tensor.name, tensor.dimensions.map(Number), Number(tensor.offset)]),
    ).toEqual([
      ['first', [3], 0],
      ['second', [2, 2], 64],
    ]);
  });

  it('places each tensor at an aligned offset of an aligned data section, zero-padded', () => {
    const file = encodeGguf(content);
    const second = Buffer.from(new Float32Array([-1, 0.25, 8, 1e-3]).buffer);
    const dataStart = file.length - 64 - 64;
    expect(dataStart % 64).toBe(0);
    expect(file.readFloatLE(dataStart)).toBe(1);
    expect(file.readFloatLE(dataStart + 8)).toBe(3);
    expect(file.subarray(dataStart + 12, dataStart + 64).every((byte) => byte === 0)).toBe(true);
    expect(file.subarray(dataStart + 64, dataStart + 80).equals(second)).toBe(true);
    expect(file.length % 64).toBe(0);
  });

  it.each([
    [
      'a shape that disagrees with the data',
      { ...content, tensors: [{ name: 'x', dims: [4], data: new Float32Array(3) }] },
    ],
    ['a repeated tensor name', { ...content, tensors: [content.tensors[0]!, content.tensors[0]!] }],
    ['a zero dimension', { ...content, tensors: [{ name: 'x', dims: [0], data: new Float32Array(0) }] }],
    ['an alignment not a multiple of 8', { ...content, alignment: 12 }],
    ['general.alignment that disagrees with the layout', { ...content, alignment: 32 }],
    ['a repeated metadata key', { ...content, metadata: [...content.metadata, content.metadata[0]!] }],
  ])('refuses %s', (_name, bad) => {
    expect(() => encodeGguf(bad)).toThrow(GgufEncodingError);
  });
});
