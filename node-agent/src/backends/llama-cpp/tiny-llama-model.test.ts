import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTinyLlamaGguf,
  ensureTinyLlamaModel,
  TINY_LLAMA_DEFAULTS,
  TinyLlamaConfigError,
  tinyLlamaVocabulary,
} from './tiny-llama-model.js';

const small = { embeddingLength: 64, blockCount: 2, feedForwardLength: 128, contextLength: 256 } as const;
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tiny-llama-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('tiny llama GGUF generator', () => {
  it('gives the same bytes for the same seed and different weights for another seed', () => {
    const first = buildTinyLlamaGguf({ ...small, seed: 3 });
    expect(sha256(buildTinyLlamaGguf({ ...small, seed: 3 }))).toBe(sha256(first));
    const other = buildTinyLlamaGguf({ ...small, seed: 4 });
    expect(other.length).toBe(first.length);
    expect(sha256(other)).not.toBe(sha256(first));
  });

  it('declares the llama architecture and the tensors llama.cpp looks up, in its shapes', async () => {
    const path = join(directory, 'shapes.gguf');
    await writeFile(path, buildTinyLlamaGguf({ ...small, seed: 1 }));
    const info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false });
    expect(info.metadata.general).toMatchObject({ architecture: 'llama', alignment: 32 });
    expect(info.architectureMetadata).toMatchObject({
      context_length: 256,
      embedding_length: 64,
      block_count: 2,
      feed_forward_length: 128,
      rope: { dimension_count: 16 },
      attention: { head_count: 4, head_count_kv: 2 },
    });
    expect(info.metadata.tokenizer?.ggml).toMatchObject({ model: 'llama', bos_token_id: 1, eos_token_id: 2 });
    const shapes = Object.fromEntries(
      (info.fullTensorInfo ?? []).map((tensor) => [tensor.name, tensor.dimensions.map(Number)]),
    );
    expect(shapes).toMatchObject({
      'token_embd.weight': [64, 512],
      'blk.1.attn_q.weight': [64, 64],
      'blk.1.attn_k.weight': [64, 32],
      'blk.1.attn_v.weight': [64, 32],
      'blk.1.attn_output.weight': [64, 64],
      'blk.1.ffn_gate.weight': [64, 128],
      'blk.1.ffn_up.weight': [64, 128],
      'blk.1.ffn_down.weight': [128, 64],
      'output_norm.weight': [64],
      'output.weight': [64, 512],
    });
    expect(Object.keys(shapes)).toHaveLength(3 + 2 * 9);
  });

  it('has a SentencePiece vocabulary of unique pieces with every byte fallback', () => {
    const vocabulary = tinyLlamaVocabulary(TINY_LLAMA_DEFAULTS.vocabSize);
    expect(vocabulary.tokens).toHaveLength(512);
    expect(new Set(vocabulary.tokens).size).toBe(512);
    expect(vocabulary.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(vocabulary.tokens[3 + 0x0a]).toBe('<0x0A>');
    expect(vocabulary.tokens).toContain('\u2581the');
    expect(vocabulary.tokens).toContain('\u2581th');
    expect(() => tinyLlamaVocabulary(100)).toThrow(TinyLlamaConfigError);
    expect(() => tinyLlamaVocabulary(100_000)).toThrow(TinyLlamaConfigError);
  });

  it.each([
    ['a head count that does not divide the embedding', { embeddingLength: 100, headCount: 3 }],
    ['an odd head dimension', { embeddingLength: 36, headCount: 4 }],
    ['KV heads that do not divide the heads', { headCountKv: 3 }],
    ['a fractional seed', { seed: 1.5 }],
    ['zero layers', { blockCount: 0 }],
  ])('refuses %s', (_name, config) => {
    expect(() => buildTinyLlamaGguf(config)).toThrow(TinyLlamaConfigError);
  });

  it('writes the file once and leaves an identical one alone; replaces a damaged one', async () => {
    const path = join(directory, 'nested', 'model.gguf');
    const first = await ensureTinyLlamaModel(path, small);
    expect(first).toMatchObject({ path, written: true });
    const writtenAt = (await stat(path)).mtimeMs;

    const again = await ensureTinyLlamaModel(path, small);
    expect(again).toEqual({ ...first, written: false });
    expect((await stat(path)).mtimeMs).toBe(writtenAt);

    await writeFile(path, Buffer.alloc(first.bytes));
    const repaired = await ensureTinyLlamaModel(path, small);
    expect(repaired).toEqual({ ...first, written: true });
  });
});
