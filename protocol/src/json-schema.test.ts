import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assert, describe, expect, it } from 'vitest';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { EXPORT_COMMAND, checkSchemaDir, describeDrift, inSync, messageNames } from './export-schemas.js';
import { MESSAGE_SCHEMAS, jsonSchemaOf } from './json-schema.js';

const SCHEMA_DIR = fileURLToPath(new URL('../../docs/schemas/', import.meta.url));
const REGENERATE = `docs/schemas is out of date with the zod definitions; run \`${EXPORT_COMMAND}\` and commit the result`;

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readGolden(file: string): unknown {
  try {
    return JSON.parse(readFileSync(`${SCHEMA_DIR}${file}`, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read docs/schemas/${file} (${String(err)}); ${REGENERATE}`, { cause: err });
  }
}

/** Every JSON Schema object node under `schema`, with a JSON-pointer-ish path. */
function* objectSchemas(schema: unknown, path = '#'): Generator<[string, JsonObject]> {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) yield* objectSchemas(item, `${path}/${i}`);
    return;
  }
  if (!isObject(schema)) return;
  if (schema['type'] === 'object') yield [path, schema];
  for (const [key, value] of Object.entries(schema)) yield* objectSchemas(value, `${path}/${key}`);
}

describe('docs/schemas golden files', () => {
  it.each(messageNames())('docs/schemas/%s.json matches jsonSchemaOf()', (name) => {
    assert.deepEqual(jsonSchemaOf(name), readGolden(`${name}.json`), `${name}: ${REGENERATE}`);
  });

  it('holds no files other than the message schemas', () => {
    const expected = new Set(messageNames().map((name) => `${name}.json`));
    const extra = readdirSync(SCHEMA_DIR).filter((file) => !file.startsWith('.') && !expected.has(file));
    assert.deepEqual(extra, [], `unexpected files in docs/schemas; ${REGENERATE}`);
  });

  it('is byte-for-byte what the export script writes (formatting included)', () => {
    const drift = checkSchemaDir(SCHEMA_DIR);
    assert.isTrue(inSync(drift), describeDrift(drift, 'docs/schemas'));
  });
});

describe('jsonSchemaOf', () => {
  it.each(messageNames())('%s is a draft 2020-12 schema with a stable id and title', (name) => {
    const schema = jsonSchemaOf(name);
    expect(schema['$id']).toBe(`urn:switchyard:protocol:v1:${name}`);
    expect(schema['title']).toBe(name);
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['type']).toBe('object');
  });

  it.each(messageNames())('%s requires v = 1', (name) => {
    const schema = jsonSchemaOf(name);
    expect((schema['properties'] as JsonObject)['v']).toMatchObject({ const: 1 });
    expect(schema['required']).toContain('v');
  });

  it.each(messageNames())('%s closes every object with a fixed shape (additionalProperties: false)', (name) => {
    const open = [...objectSchemas(jsonSchemaOf(name))]
      .filter(([, node]) => node['properties'] !== undefined && node['additionalProperties'] !== false)
      .map(([path]) => path);
    expect(open).toEqual([]);
  });

  it('is deterministic: two calls give equal, independent objects', () => {
    const first = jsonSchemaOf('Heartbeat');
    const second = jsonSchemaOf('Heartbeat');
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });
});

describe('the zod definitions behind each schema', () => {
  it.each(messageNames())('%s accepts a realistic example', (name) => {
    const result = MESSAGE_SCHEMAS[name].safeParse(EXAMPLE_MESSAGES[name]);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it.each(messageNames())('%s rejects an unknown top-level field', (name) => {
    const result = MESSAGE_SCHEMAS[name].safeParse({ ...EXAMPLE_MESSAGES[name], traceparent: '00-abc-def-01' });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['traceparent'], path: [] }),
    ]);
  });

  // `required` in the JSON Schema and optionality in zod must agree: drop each property in turn.
  it.each(messageNames())('%s: a field is required in JSON Schema exactly when zod rejects its absence', (name) => {
    const schema = jsonSchemaOf(name);
    const required = new Set(schema['required'] as string[]);
    const example = EXAMPLE_MESSAGES[name] as JsonObject;
    for (const field of Object.keys(schema['properties'] as JsonObject)) {
      const rest = { ...example };
      delete rest[field];
      const accepted = MESSAGE_SCHEMAS[name].safeParse(rest).success;
      const says = `${name}.${field} is ${required.has(field) ? '' : 'not '}required in JSON Schema`;
      assert.strictEqual(
        accepted,
        !required.has(field),
        `${says}, but zod ${accepted ? 'accepts' : 'rejects'} its absence`,
      );
    }
  });

  it.each([
    ['Heartbeat', (m: JsonObject) => ({ ...m, accelerator: { ...(m['accelerator'] as JsonObject), vendor: 'aws' } })],
    ['Heartbeat', (m: JsonObject) => ({ ...m, models: [{ name: 'llama-3.1-8b', state: 'loaded', sizeBytes: 1 }] })],
    ['InferResult', (m: JsonObject) => ({ ...m, timings: { ...(m['timings'] as JsonObject), networkMs: 1 } })],
    ['ErrorReply', (m: JsonObject) => ({ ...m, error: { ...(m['error'] as JsonObject), details: [] } })],
    ['StatusReply', (m: JsonObject) => ({ ...m, nodes: [{ ...(m['nodes'] as JsonObject[])[0], gpuUuid: 'GPU-1' }] })],
  ] as const)('%s rejects an unknown nested field', (name, mutate) => {
    const result = MESSAGE_SCHEMAS[name].safeParse(mutate(EXAMPLE_MESSAGES[name]));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  // Regression: uptimeMs was a DurationMs (max 7 days) and cluster power sums used the per-node 10 MW bound, so a
  // scheduler up for a week, or one large cluster, produced a StatusReply that failed its own schema.
  it('StatusReply accepts a scheduler up for a year and a 60 MW cluster', () => {
    const example = EXAMPLE_MESSAGES.StatusReply;
    const cluster = { ...example.clusters[0], powerDrawWatts: 41e6, powerLimitWatts: 60e6 };
    const reply = { ...example, uptimeMs: 365 * 24 * 3600 * 1000, clusters: [cluster] };
    expect(MESSAGE_SCHEMAS.StatusReply.safeParse(reply).error?.issues ?? []).toEqual([]);
  });

  it('fills documented defaults on input (io: input schemas mark them optional)', () => {
    expect(MESSAGE_SCHEMAS.InferRequest.parse({ v: 1, model: 'm', inputTokens: 1, maxOutputTokens: 1 })).toMatchObject({
      priority: 'normal',
      sloClass: 'interactive',
    });
    expect(MESSAGE_SCHEMAS.StatusRequest.parse({ v: 1 })).toEqual({ v: 1, nodeLimit: 200 });
    const inferProps = jsonSchemaOf('InferRequest')['properties'] as JsonObject;
    expect(inferProps['priority']).toMatchObject({ default: 'normal' });
    expect(inferProps['sloClass']).toMatchObject({ default: 'interactive' });
  });
});
