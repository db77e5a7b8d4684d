import { describe, expect, it } from 'vitest';
import { nodeIdFromName } from './agent.js';

describe('nodeIdFromName', () => {
  it('makes a subject token from a host or Kubernetes Node name, keeping long names apart', () => {
    expect(nodeIdFromName('ip-10-0-1-5.us-west-2.compute.internal')).toBe('ip-10-0-1-5-us-west-2-compute-internal');
    expect(nodeIdFromName('gpu-1')).toBe('gpu-1');
    const long = `${'a'.repeat(60)}.one`;
    const other = `${'a'.repeat(60)}.two`;
    expect(nodeIdFromName(long)).toHaveLength(64);
    expect(nodeIdFromName(long)).not.toBe(nodeIdFromName(other));
    expect(nodeIdFromName('...')).toBe('node');
    expect(nodeIdFromName(long)).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
  });
});
