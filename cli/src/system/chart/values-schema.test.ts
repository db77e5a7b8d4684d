/**
 * values.schema.json accepts the chart's own values files and refuses the mistakes people make
 * (typos, wrong enums, out-of-range numbers, accelerators requested by an agent, credentials put
 * inline), each with an error that points at the value. Helm 3 validates with the same draft-07
 * rules before it renders anything.
 *
 * The mistakes themselves, and the builders of values they share with these tests, are in
 * values-mistakes.ts.
 */
import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  chartFilesUnder,
  createValuesValidator,
  defaultValues,
  isMap,
  valuesSchema,
  valuesStacks,
  valuesWith,
  type YamlMap,
} from './chart-files.js';
import { MUTATIONS, natsAuthOn, poolWith, setPath, valuesWithPool } from './values-mistakes.js';

const validate = createValuesValidator();

/** Every object schema that lists properties, outside conditions (if/then/else/not/anyOf/allOf). */
function objectSchemas(node: unknown, path: string): { path: string; node: YamlMap }[] {
  if (!isMap(node)) return [];
  const found = isMap(node['properties']) ? [{ path, node }] : [];
  const children: [string, unknown][] = [];
  for (const key of ['properties', 'definitions']) {
    if (isMap(node[key]))
      for (const [name, child] of Object.entries(node[key])) children.push([`${path}/${key}/${name}`, child]);
  }
  for (const key of ['items', 'additionalProperties']) children.push([`${path}/${key}`, node[key]]);
  return [...found, ...children.flatMap(([childPath, child]) => objectSchemas(child, childPath))];
}

/** `path keyword: message` lines, for failure messages a person can read. */
function describeErrors(errors: readonly ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message ?? ''}`).join('\n');
}

describe('values.schema.json accepts the chart’s values', () => {
  it('is draft-07, the draft Helm 3 validates with', () => {
    expect(valuesSchema()['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts values.yaml', () => {
    const errors = validate(defaultValues());
    expect(describeErrors(errors)).toBe('');
  });

  it.each([...chartFilesUnder('ci'), ...chartFilesUnder('examples')])('accepts %s over the defaults', (path) => {
    expect(describeErrors(validate(valuesWith(path)))).toBe('');
  });

  it.each(valuesStacks().map((stack) => [stack.join(' + '), stack] as const))(
    'accepts %s as installed',
    (_name, stack) => {
      expect(describeErrors(validate(valuesWith(...stack)))).toBe('');
    },
  );

  it('accepts natsAuth with a pool identity, and the NATS chart keys that give the server auth.conf', () => {
    const values = natsAuthOn(poolWith({ natsUser: 'gpu-fleet' }));
    setPath(values, 'nats.config.merge', { '00$include': 'switchyard-auth/auth.conf' });
    setPath(values, 'nats.podTemplate.patch', [{ op: 'add', path: '/spec/volumes/-', value: { name: 'auth' } }]);
    setPath(values, 'nats.container.patch', [{ op: 'add', path: '/volumeMounts/-', value: { name: 'auth' } }]);
    expect(describeErrors(validate(values))).toBe('');
  });

  it('accepts the pool the mutations below start from', () => {
    expect(describeErrors(validate(valuesWithPool()))).toBe('');
  });

  it('accepts the NATS subchart’s own values and the global key Helm adds', () => {
    const values = setPath(defaultValues(), 'nats.config.cluster', { enabled: true, replicas: 3 });
    values['global'] = {};
    expect(describeErrors(validate(values))).toBe('');
  });

  it('accepts credentials from a Secret: user and password, a token, or a creds file', () => {
    for (const keys of [
      { userKey: 'user', passwordKey: 'password' },
      { tokenKey: 'token' },
      { credsKey: 'nats.creds' },
    ]) {
      const values = defaultValues();
      const secret = (values['externalNats'] as YamlMap)['existingSecret'] as YamlMap;
      Object.assign(secret, { name: 'nats-auth' }, keys);
      expect(describeErrors(validate(values)), `keys ${JSON.stringify(keys)}`).toBe('');
    }
  });
});

describe('values.schema.json refuses mistakes, pointing at the value', () => {
  it.each(MUTATIONS.map((m) => [m.what, m] as const))('%s', (_what, mutation) => {
    const errors = validate(mutation.values);
    expect(errors.length, 'refused').toBeGreaterThan(0);
    const pointed = errors.filter((e) => e.instancePath === mutation.path && e.keyword === mutation.keyword);
    expect(
      pointed.length,
      `an error "${mutation.keyword}" at ${mutation.path || '/'}; got:\n${describeErrors(errors)}`,
    ).toBeGreaterThan(0);
  });

  it('names the unknown key of a typo', () => {
    const errors = validate(setPath(defaultValues(), 'scheduler.replicas', 3));
    expect(errors.map((e) => e.params)).toContainEqual({ additionalProperty: 'replicas' });
  });
});

describe('values.schema.json is closed', () => {
  it('refuses unknown keys in every object it defines (the NATS subchart’s values stay open)', () => {
    const open = objectSchemas(valuesSchema(), '#')
      .filter(({ node }) => node['additionalProperties'] !== false)
      .map(({ path }) => path);
    expect(open).toEqual(['#/properties/nats']);
  });
});
