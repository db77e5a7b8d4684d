import { describe, expect, it } from 'vitest';
import type { Liveness, OperatorState } from '../../../fleet/node-record.js';
import { candidate, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { schedulableFilter } from './schedulable.js';

describe('schedulable filter', () => {
  const filter = schedulableFilter();

  it.each<{
    name: string;
    liveness?: Liveness;
    operator?: OperatorState;
    reported?: 'ready' | 'draining';
    exclude?: string[];
    admits: boolean;
  }>([
    { name: 'alive, active, ready', admits: true },
    { name: 'suspect', liveness: 'suspect', admits: false },
    { name: 'dead', liveness: 'dead', admits: false },
    { name: 'cordoned', operator: 'cordoned', admits: false },
    { name: 'drained by the operator', operator: 'draining', admits: false },
    { name: 'draining itself', reported: 'draining', admits: false },
    { name: 'excluded by the request', exclude: ['a'], admits: false },
    { name: 'another node excluded', exclude: ['b', 'c'], admits: true },
    { name: 'empty exclusion set', exclude: [], admits: true },
  ])('$name → $admits', ({ liveness, operator, reported, exclude, admits }) => {
    const node = nodeRecord({ nodeId: 'a', state: reported ?? 'ready' });
    if (liveness !== undefined) node.liveness = liveness;
    if (operator !== undefined) node.operatorState = operator;
    const request = placementRequest('llama-3.1-8b', exclude === undefined ? {} : { excludeNodeIds: new Set(exclude) });
    expect(filter.admits(request, candidate(node, request))).toBe(admits);
  });

  it('rejects with NO_CAPACITY under its configured name', () => {
    expect(filter).toMatchObject({ name: 'schedulable', rejectionCode: 'NO_CAPACITY' });
  });
});
