/**
 * Unit tests of the fuzz arbitraries (fuzz-arbitraries.test-support.ts) that codec.fuzz.test.ts and
 * the CLI's system fuzzers build on: the text splicing, nesting and padding they rely on, and the
 * prototype guard that tells them a decode polluted a prototype.
 */
import { describe, expect, it } from 'vitest';
import {
  type Json,
  type JsonPath,
  mutatedText,
  nestedText,
  PADDINGS,
  paddedTo,
  PrototypeGuard,
  SIZES_AT_LIMIT,
} from './fuzz-arbitraries.test-support.js';

/** The arbitraries themselves: a fuzz suite whose generators silently produce nothing hostile tests nothing. */
describe('fuzz arbitraries', () => {
  it('splice fragments verbatim, define "__proto__" as an own key, and pad to the exact byte', () => {
    const base: Json = { v: 1, a: { b: [1, 2] }, c: 'x' };
    const path: JsonPath = ['a', 'b', 1];
    expect(mutatedText(base, [{ kind: 'replace', path, fragment: '1e309' }])).toBe(
      '{"v":1,"a":{"b":[1,1e309]},"c":"x"}',
    );
    expect(mutatedText(base, [{ kind: 'add-member', path: ['a'], key: '__proto__', fragment: '$&' }])).toBe(
      '{"v":1,"a":{"b":[1,2],"__proto__":$&},"c":"x"}',
    );
    expect(mutatedText(base, [{ kind: 'rename-key', path: ['c'], key: 'constructor' }])).toBe(
      '{"v":1,"a":{"b":[1,2]},"constructor":"x"}',
    );
    expect(
      mutatedText(base, [
        { kind: 'delete', path: ['a'] },
        { kind: 'delete', path: ['a', 'b'] },
      ]),
    ).toBe('{"v":1,"c":"x"}');
    expect(nestedText(3, 'array')).toBe('[[[0]]]');
    for (const padding of PADDINGS) {
      for (const size of SIZES_AT_LIMIT) expect(paddedTo('{"v":1}', size, padding).byteLength).toBe(size);
    }
  });

  it('see a property planted on, replaced in or removed from a watched prototype', () => {
    const prototype: Record<string, unknown> = { kept: 1, replaced: 2, removed: 3 };
    const probe = new PrototypeGuard({ 'Probe.prototype': prototype });
    expect(probe.changes()).toEqual([]);
    prototype['added'] = true;
    prototype['replaced'] = 20;
    delete prototype['removed'];
    expect(probe.changes()).toEqual([
      'Probe.prototype.replaced was replaced',
      'Probe.prototype.added was added',
      'Probe.prototype.removed was removed',
    ]);
  });
});
