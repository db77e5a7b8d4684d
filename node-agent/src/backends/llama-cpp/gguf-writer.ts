/**
 * A GGUF v3 writer (ggml docs/gguf.md), enough for the models we generate ourselves: typed metadata
 * key-value pairs, including arrays, and F32 tensors. Little-endian throughout, as llama.cpp expects.
 *
 * Layout: header (magic "GGUF", version, tensor count, metadata count), the metadata pairs, the
 * tensor infos (name, dimensions innermost first, ggml type, offset into the data section), zero
 * padding to the alignment, then each tensor's data at its offset, every offset a multiple of the
 * alignment.
 */

/** GGUF format version this writer produces. */
export const GGUF_VERSION = 3;
/** Alignment readers assume when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');
/** ggml_type of a 32-bit float tensor. */
const GGML_TYPE_F32 = 0;

/** Metadata value type codes (gguf_metadata_value_type). */
const VALUE_TYPE = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
} as const;

type ScalarKind = 'uint32' | 'int32' | 'float32' | 'bool' | 'string' | 'uint64';

/** One metadata value with its GGUF type; counts are uint32 where llama.cpp reads them as such. */
export type GgufValue =
  | { readonly kind: 'uint32' | 'int32' | 'float32'; readonly value: number }
  | { readonly kind: 'uint64'; readonly value: bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly itemKind: 'uint32' | 'int32' | 'float32'; readonly values: readonly number[] }
  | { readonly kind: 'array'; readonly itemKind: 'string'; readonly values: readonly string[] };

/** An F32 tensor: `dims` innermost first (ggml's ne order), `data` row-major over them. */
export interface GgufTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** What a GGUF file holds. Metadata keys are written in the order given. */
export interface GgufContent {
  readonly metadata: readonly (readonly [string, GgufValue])[];
  readonly tensors: readonly GgufTensor[];
  /** Must match `general.alignment` when the metadata carries it. */
  readonly alignment?: number;
}

/** A file that would not be valid GGUF (bad alignment, tensor shape and data disagree, duplicate names). */
export class GgufEncodingError extends Error {
  override readonly name = 'GgufEncodingError';
}

/** Encodes `content` as one GGUF v3 file. Throws GgufEncodingError for content no reader would accept. */
export function encodeGguf(content: GgufContent): Buffer {
  const alignment = content.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0)
    throw new GgufEncodingError(`alignment must be a positive multiple of 8, got ${alignment}`);
  const declared = content.metadata.find(([key]) => key === 'general.alignment')?.[1];
  if (declared !== undefined && !(declared.kind === 'uint32' && declared.value === alignment))
    throw new GgufEncodingError(`general.alignment must be the uint32 ${alignment} the data is aligned to`);
  const keys = new Set<string>();
  for (const [key] of content.metadata) {
    if (keys.has(key)) throw new GgufEncodingError(`metadata key ${key} appears twice`);
    keys.add(key);
  }

  const out = new ByteSink();
  out.bytes(GGUF_MAGIC);
  out.uint32(GGUF_VERSION);
  out.uint64(BigInt(content.tensors.length));
  out.uint64(BigInt(content.metadata.length));
  for (const [key, value] of content.metadata) {
    out.string(key);
    writeValue(out, value);
  }

  const names = new Set<string>();
  let dataOffset = 0;
  const offsets: number[] = [];
  for (const tensor of content.tensors) {
    if (names.has(tensor.name)) throw new GgufEncodingError(`tensor ${tensor.name} appears twice`);
    names.add(tensor.name);
    const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
    if (tensor.dims.length === 0 || tensor.dims.some((dim) => !Number.isInteger(dim) || dim <= 0))
      throw new GgufEncodingError(`tensor ${tensor.name} has dimensions ${JSON.stringify(tensor.dims)}`);
    if (elements !== tensor.data.length) {
      throw new GgufEncodingError(
        `tensor ${tensor.name}: dimensions ${JSON.stringify(tensor.dims)} hold ${elements} values, data has ${tensor.data.length}`,
      );
    }
    out.string(tensor.name);
    out.uint32(tensor.dims.length);
    for (const dim of tensor.dims) out.uint64(BigInt(dim));
    out.uint32(GGML_TYPE_F32);
    out.uint64(BigInt(dataOffset));
    offsets.push(dataOffset);
    dataOffset = alignUp(dataOffset + tensor.data.byteLength, alignment);
  }
  out.zeros(alignUp(out.length, alignment) - out.length);

  const dataStart = out.length;
  content.tensors.forEach((tensor, index) => {
    out.zeros(dataStart + (offsets[index] ?? 0) - out.length);
    out.float32s(tensor.data);
  });
  out.zeros(dataStart + dataOffset - out.length);
  return out.toBuffer();
}

function writeValue(out: ByteSink, value: GgufValue): void {
  out.uint32(VALUE_TYPE[value.kind]);
  if (value.kind === 'array') {
    out.uint32(VALUE_TYPE[value.itemKind]);
    out.uint64(BigInt(value.values.length));
    if (value.itemKind === 'string') for (const item of value.values) out.string(item);
    else for (const item of value.values) writeScalar(out, value.itemKind, item);
    return;
  }
  writeScalar(out, value.kind, value.value);
}

function writeScalar(out: ByteSink, kind: ScalarKind, value: number | bigint | boolean | string): void {
  switch (kind) {
    case 'uint32':
      out.uint32(Number(value));
      return;
    case 'int32':
      out.int32(Number(value));
      return;
    case 'float32':
      out.float32(Number(value));
      return;
    case 'bool':
      out.uint8(value === true ? 1 : 0);
      return;
    case 'string':
      out.string(String(value));
      return;
    case 'uint64':
      out.uint64(BigInt(value));
      return;
  }
}

function alignUp(offset: number, alignment: number): number {
  return offset + ((alignment - (offset % alignment)) % alignment);
}

/** An append-only little-endian byte buffer that grows by doubling. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  bytes(data: Uint8Array): void {
    this.reserve(data.byteLength);
    this.buffer.set(data, this.length);
    this.length += data.byteLength;
  }

  zeros(count: number): void {
    this.reserve(count);
    this.buffer.fill(0, this.length, this.length + count);
    this.length += count;
  }

  uint8(value: number): void {
    this.reserve(1);
    this.length = this.buffer.writeUInt8(value, this.length);
  }

  uint32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }

  int32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32LE(value, this.length);
  }

  float32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeFloatLE(value, this.length);
  }

  uint64(value: bigint): void {
    this.reserve(8);
    this.length = this.buffer.writeBigUInt64LE(value, this.length);
  }

  string(value: string): void {
    const encoded = Buffer.from(value, 'utf8');
    this.uint64(BigInt(encoded.byteLength));
    this.bytes(encoded);
  }

  float32s(values: Float32Array): void {
    this.reserve(values.byteLength);
    for (let i = 0; i < values.length; i++) this.buffer.writeFloatLE(values[i] ?? 0, this.length + i * 4);
    this.length += values.byteLength;
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < this.length + extra) size *= 2;
    const grown = Buffer.alloc(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
