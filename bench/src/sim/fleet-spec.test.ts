import { fileURLToPath } from 'node:url';
import { ConfigError, parseFleetSpec } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { loadFleetSpec } from './fleet-spec.js';

const REFERENCE = fileURLToPath(new URL('../../fleets/reference.json', import.meta.url));

const valid = {
  clusters: [{ name: 'fra', location: 'Frankfurt', powerBudgetWatts: 25_000 }],
  nodes: [{ cluster: 'fra', profile: 'h100', count: 2, models: ['llama-3.1-8b'] }],
};

describe('fleet spec files', () => {
  it('reads the reference fleet with the topology defaults filled in', () => {
    const fleet = loadFleetSpec(REFERENCE);
    expect(fleet.groups.map((g) => `${g.count}×${g.profile}@${g.cluster}`)).toEqual([
      '3×h100@fra',
      '3×trn2@iad',
      '4×l4@iad',
    ]);
    expect(fleet.topology.clusters.map((c) => [c.name, c.powerBudgetWatts, c.safetyMargin])).toEqual([
      ['fra', 25_000, 0.05],
      ['iad', 25_000, 0.05],
    ]);
    expect(fleet.topology.unlistedLatencyMs).toBe(250);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['no nodes', JSON.stringify({ ...valid, nodes: [] }), /nodes/],
    [
      'a group in a cluster that is not listed',
      JSON.stringify({ ...valid, nodes: [{ ...valid.nodes[0], cluster: 'ams' }] }),
      /"ams" is not among the clusters[\s\S]*at nodes\[0\]\.cluster/,
    ],
    ['a count of 0', JSON.stringify({ ...valid, nodes: [{ ...valid.nodes[0], count: 0 }] }), /count/],
    ['an unknown field', JSON.stringify({ ...valid, extra: 1 }), /extra/],
    [
      'a negative budget',
      JSON.stringify({ ...valid, clusters: [{ name: 'fra', powerBudgetWatts: -1 }] }),
      /powerBudgetWatts/,
    ],
  ])('refuses %s, naming the file', (_name, text, reason) => {
    expect(() => parseFleetSpec(text, 'fleets/bad.json')).toThrow(ConfigError);
    expect(() => parseFleetSpec(text, 'fleets/bad.json')).toThrow(/^fleets\/bad\.json: /);
    expect(() => parseFleetSpec(text, 'fleets/bad.json')).toThrow(reason);
  });
});
