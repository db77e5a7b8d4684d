import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createRng } from '@switchyard/fleet-model';
import { encodeGguf, GGUF_DEFAULT_ALIGNMENT, type GgufTensor, type GgufValue } from './gguf-writer.js';

/**
 * A small llama-architecture model with seeded random weights, written as GGUF for llama.cpp. Its
 * text is nonsense; its compute, latency, streaming and memory are those of a real transformer of
 * its size, so the CPU backend, the tests and the demo run real inference with nothing downloaded.
 *
 * Tokenizer: SentencePiece ("llama"). It needs only tokens, scores and token types, where the BPE
 * ("gpt2") tokenizer also needs a merges list and a pre-tokenizer name (llama.cpp warns without
 * one). The vocabulary is three special tokens, the 256 byte-fallback tokens `<0xXX>` llama.cpp's
 * SentencePiece tokenizer looks up for any character it has no piece for (and for the newline
 * token), "▁" and the printable ASCII characters, then the prefixes of common English words
 * ("▁t", "▁th", "▁the": SentencePiece only merges adjacent pieces whose union is itself a piece).
 *
 * Generation never ends early and stays printable: residual dimension 0 carries the same positive
 * value for every token (embedding column 0 is constant and no layer writes to it), so after the
 * final norm it is a positive feature the output rows of the special and byte tokens weigh with a
 * large negative weight. Their logits sit far below every other token's, so a completion runs to
 * its token limit in printable text.
 */

/** Shape and seed of the generated model. */
export interface TinyLlamaConfig {
  readonly seed: number;
  readonly vocabSize: number;
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly feedForwardLength: number;
  /** Context the model declares it was trained on (llama.context_length). */
  readonly contextLength: number;
}

/** 3.2 M parameters, 12.7 MB as F32: milliseconds per token on one CPU core. */
export const TINY_LLAMA_DEFAULTS: TinyLlamaConfig = Object.freeze({
  seed: 7,
  vocabSize: 512,
  embeddingLength: 256,
  blockCount: 4,
  headCount: 4,
  headCountKv: 2,
  feedForwardLength: 768,
  contextLength: 2048,
});

/** Where `scripts/make-tiny-gguf.mjs` writes the model, relative to the repository root. */
export const DEFAULT_TINY_LLAMA_PATH = '.switchyard/models/tiny-llama.gguf';

/** Token ids of the special tokens (SentencePiece convention). */
export const TINY_LLAMA_TOKENS = Object.freeze({ unknown: 0, bos: 1, eos: 2 });

/** A configuration that cannot make a loadable model. */
export class TinyLlamaConfigError extends Error {
  override readonly name = 'TinyLlamaConfigError';
}

/** llama.cpp token types (llama_token_type). */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

/** Word starts that fill the vocabulary after the single characters, most common first. */
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her one all we can their there been if more when will would who so no time about out up into than ' +
  'them only some could new other these then what two may first any like now my such make over our even most ' +
  'after also made many before must through back years where much your way well down should because each just ' +
  'those people how too little state good very world still own see men work long here get both between life ' +
  'being under never same another know while last might great old year off come since against go came right ' +
  'used take three place small found part general high upon school every during number always something'
).split(' ');

const SPACE = '\u2581';
const SUPPRESSED_OUTPUT_WEIGHT = -24;
const RESIDUAL_BEACON = 2;
const OUTPUT_NORM_BEACON_GAIN = 8;

interface Vocabulary {
  readonly tokens: string[];
  readonly scores: number[];
  readonly types: number[];
}

/** The model's vocabulary: specials, byte fallbacks, characters, then word prefixes up to `size`. */
export function tinyLlamaVocabulary(size: number): Vocabulary {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const seen = new Set<string>();
  const add = (piece: string, score: number, type: number): void => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    scores.push(score);
    types.push(type);
  };
  add('<unk>', 0, TOKEN_TYPE.unknown);
  add('<s>', 0, TOKEN_TYPE.control);
  add('</s>', 0, TOKEN_TYPE.control);
  for (let byte = 0; byte < 256; byte++)
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, 0, TOKEN_TYPE.byte);
  const pieces = [SPACE];
  for (let code = 0x21; code <= 0x7e; code++) pieces.push(String.fromCharCode(code));
  for (const word of WORDS) for (let end = 1; end <= word.length; end++) pieces.push(SPACE + word.slice(0, end));
  // Longer pieces score higher so the merges build whole words; ties go to the earlier (commoner) piece.
  for (const [index, piece] of pieces.entries()) {
    if (tokens.length === size) break;
    add(piece, piece.length - index / pieces.length, TOKEN_TYPE.normal);
  }
  if (tokens.length !== size) {
    throw new TinyLlamaConfigError(
      `vocabulary size must be in [260, ${tokens.length}] (3 specials, 256 bytes, then printable pieces), got ${size}`,
    );
  }
  return { tokens, scores, types };
}

/** Checks a configuration; throws TinyLlamaConfigError naming the first problem. */
export function validateTinyLlamaConfig(config: TinyLlamaConfig): void {
  const positive: (keyof TinyLlamaConfig)[] = [
    'vocabSize',
    'embeddingLength',
    'blockCount',
    'headCount',
    'headCountKv',
    'feedForwardLength',
    'contextLength',
  ];
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] < 1 || config[key] > 1 << 20)
      throw new TinyLlamaConfigError(`${key} must be an integer in 1..${1 << 20}, got ${config[key]}`);
  }
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > 0xffff_ffff)
    throw new TinyLlamaConfigError(`seed must be an integer in 0..2^32-1, got ${config.seed}`);
  if (config.embeddingLength % config.headCount !== 0)
    throw new TinyLlamaConfigError('embeddingLength must be a multiple of headCount');
  if ((config.embeddingLength / config.headCount) % 2 !== 0)
    throw new TinyLlamaConfigError('the head dimension (embeddingLength / headCount) must be even for RoPE');
  if (config.headCount % config.headCountKv !== 0)
    throw new TinyLlamaConfigError('headCount must be a multiple of headCountKv');
}

function u32(value: number): GgufValue {
  return { kind: 'uint32', value };
}

/** The whole GGUF file for `config` (defaults filled in). The same config always gives the same bytes. */
export function buildTinyLlamaGguf(overrides: Partial<TinyLlamaConfig> = {}): Buffer {
  const config: TinyLlamaConfig = { ...TINY_LLAMA_DEFAULTS, ...overrides };
  validateTinyLlamaConfig(config);
  const vocabulary = tinyLlamaVocabulary(config.vocabSize);
  const headDim = config.embeddingLength / config.headCount;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', { kind: 'string', value: 'llama' }],
    ['general.name', { kind: 'string', value: 'switchyard tiny llama (random weights)' }],
    ['general.file_type', u32(0)],
    ['general.alignment', u32(GGUF_DEFAULT_ALIGNMENT)],
    ['switchyard.seed', u32(config.seed)],
    ['llama.vocab_size', u32(config.vocabSize)],
    ['llama.context_length', u32(config.contextLength)],
    ['llama.embedding_length', u32(config.embeddingLength)],
    ['llama.block_count', u32(config.blockCount)],
    ['llama.feed_forward_length', u32(config.feedForwardLength)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.rope.freq_base', { kind: 'float32', value: 10_000 }],
    ['llama.attention.head_count', u32(config.headCount)],
    ['llama.attention.head_count_kv', u32(config.headCountKv)],
    ['llama.attention.layer_norm_rms_epsilon', { kind: 'float32', value: 1e-5 }],
    ['tokenizer.ggml.model', { kind: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { kind: 'array', itemKind: 'string', values: vocabulary.tokens }],
    ['tokenizer.ggml.scores', { kind: 'array', itemKind: 'float32', values: vocabulary.scores }],
    ['tokenizer.ggml.token_type', { kind: 'array', itemKind: 'int32', values: vocabulary.types }],
    ['tokenizer.ggml.unknown_token_id', u32(TINY_LLAMA_TOKENS.unknown)],
    ['tokenizer.ggml.bos_token_id', u32(TINY_LLAMA_TOKENS.bos)],
    ['tokenizer.ggml.eos_token_id', u32(TINY_LLAMA_TOKENS.eos)],
    ['tokenizer.ggml.add_bos_token', { kind: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { kind: 'bool', value: false }],
  ];
  return encodeGguf({ metadata, tensors: tinyLlamaTensors(config, vocabulary), alignment: GGUF_DEFAULT_ALIGNMENT });
}

function ones(length: number): Float32Array {
  return new Float32Array(length).fill(1);
}

/** Zeroes output feature 0 (row 0) of a layer that writes into the residual stream. */
function sparingBeacon(data: Float32Array, inputs: number): Float32Array {
  data.fill(0, 0, inputs);
  return data;
}

/** Seeded weights in llama.cpp's tensor names and shapes (ggml order: input features first). */
function tinyLlamaTensors(config: TinyLlamaConfig, vocabulary: Vocabulary): GgufTensor[] {
  const random = createRng(config.seed);
  const { embeddingLength: embd, feedForwardLength: ff, vocabSize: vocab } = config;
  const kvDim = (embd / config.headCount) * config.headCountKv;
  // Uniform in [-a, a] has standard deviation a / sqrt(3); scale each matrix by 1 / sqrt(fan-in).
  const matrix = (inputs: number, outputs: number, std = 1 / Math.sqrt(inputs)): Float32Array => {
    const data = new Float32Array(inputs * outputs);
    const half = std * Math.sqrt(3);
    for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * half;
    return data;
  };

  const tokenEmbedding = matrix(embd, vocab, 0.5);
  for (let token = 0; token < vocab; token++) tokenEmbedding[token * embd] = RESIDUAL_BEACON;
  const tensors: GgufTensor[] = [{ name: 'token_embd.weight', dims: [embd, vocab], data: tokenEmbedding }];
  for (let block = 0; block < config.blockCount; block++) {
    const prefix = `blk.${block}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${prefix}.attn_q.weight`, dims: [embd, embd], data: matrix(embd, embd) },
      { name: `${prefix}.attn_k.weight`, dims: [embd, kvDim], data: matrix(embd, kvDim) },
      { name: `${prefix}.attn_v.weight`, dims: [embd, kvDim], data: matrix(embd, kvDim) },
      {
        name: `${prefix}.attn_output.weight`,
        dims: [embd, embd],
        data: sparingBeacon(matrix(embd, embd, 0.5 / Math.sqrt(embd)), embd),
      },
      { name: `${prefix}.ffn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${prefix}.ffn_gate.weight`, dims: [embd, ff], data: matrix(embd, ff) },
      { name: `${prefix}.ffn_up.weight`, dims: [embd, ff], data: matrix(embd, ff) },
      {
        name: `${prefix}.ffn_down.weight`,
        dims: [ff, embd],
        data: sparingBeacon(matrix(ff, embd, 0.5 / Math.sqrt(ff)), ff),
      },
    );
  }
  const outputNorm = ones(embd);
  outputNorm[0] = OUTPUT_NORM_BEACON_GAIN;
  const output = matrix(embd, vocab, 2 / Math.sqrt(embd));
  for (let token = 0; token < vocab; token++) {
    const printable = vocabulary.types[token] === TOKEN_TYPE.normal;
    output[token * embd] = printable ? 0 : SUPPRESSED_OUTPUT_WEIGHT;
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [embd], data: outputNorm },
    { name: 'output.weight', dims: [embd, vocab], data: output },
  );
  return tensors;
}

/** What ensureTinyLlamaModel found or did. */
export interface TinyLlamaFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** False when a file with these exact bytes was already there. */
  readonly written: boolean;
}

/**
 * Writes the model for `config` to `path` unless the file there already has exactly its bytes
 * (same size and SHA-256), so repeated runs cost one hash. Writes to a temporary file and renames
 * it into place, so a reader never sees half a model.
 */
export async function ensureTinyLlamaModel(
  path: string,
  config: Partial<TinyLlamaConfig> = {},
): Promise<TinyLlamaFile> {
  const content = buildTinyLlamaGguf(config);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isFile() === true && existing.size === content.byteLength) {
    const onDisk = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    if (onDisk === sha256) return { path, bytes: content.byteLength, sha256, written: false };
  }
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
  return { path, bytes: content.byteLength, sha256, written: true };
}
