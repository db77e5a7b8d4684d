import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import { heartbeat, registration, reservation } from '../test-fixtures.js';
import { Topology } from '../topology/topology.js';
import { getProfile } from '@switchyard/fleet-model';
import { planPowerLimits } from './power-plan.js';

/** h100 ×8: limit range 1600–5600 W. */
function fleetOf(budgetWatts: number, draws: readonly number[], limits?: readonly number[]): FleetView {
  const topology = new Topology({
    clusters: [{ name: 'c1', location: 'test', powerBudgetWatts: budgetWatts, safetyMargin: 0 }],
    regions: [],
  });
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, undefined, topology);
  draws.forEach((draw, i) => {
    fleet.register(
      registration({
        nodeId: `n${i}`,
        cluster: 'c1',
        profile: 'h100',
        chips: 8,
        powerDrawWatts: draw,
        powerLimitWatts: limits?.[i] ?? 5600,
      }),
      0,
    );
  });
  return fleet;
}

const cluster = (fleet: FleetView) => fleet.topology.cluster('c1');

describe('planPowerLimits', () => {
  it('does nothing while measured draw is under the usable budget', () => {
    const fleet = fleetOf(10_000, [3000, 3000]);
    expect(planPowerLimits(cluster(fleet), fleet.nodes, new Set())).toEqual([]);
    expect(cluster(fleet).stage).toBe('normal');
  });

  it.each([
    { name: 'equal nodes shed equally', draws: [4000, 4000], budget: 6000, expected: [2850, 2850] },
    // n1 can shed only 100 W above its 1600 W minimum: n0 takes almost all of the 1950 W excess.
    { name: 'a node near its minimum sheds little', draws: [5000, 1700], budget: 5000, expected: [3106, 1644] },
  ])('$name: brings the sum of limits to 95 % of the budget', ({ draws, budget, expected }) => {
    const fleet = fleetOf(budget, draws);
    const changes = planPowerLimits(cluster(fleet), fleet.nodes, new Set());
    expect(cluster(fleet).capping).toBe(true);
    expect(cluster(fleet).stage).toBe('cap');
    const byNode = new Map(changes.map((c) => [c.nodeId, c.limitWatts]));
    expected.forEach((watts, i) => expect(Math.abs(byNode.get(`n${i}`)! - watts), `n${i}`).toBeLessThanOrEqual(2));
    const total = [...byNode.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs(total - 0.95 * budget)).toBeLessThanOrEqual(draws.length);
    for (const change of changes) expect(change.direction).toBe('lower');
  });

  it('caps nodes running batch work harder than nodes serving interactive work', () => {
    const fleet = fleetOf(6000, [4000, 4000]);
    const batchy = fleet.get('n0')!;
    for (let i = 0; i < 4; i++) fleet.assume({ ...reservation(`b${i}`, 'n0'), sloClass: 'batch' });
    for (let i = 0; i < 4; i++) fleet.assume(reservation(`i${i}`, 'n1'));
    expect(batchy.batchReservations).toBe(4);
    const changes = planPowerLimits(cluster(fleet), fleet.nodes, new Set());
    const limit = (id: string) => changes.find((c) => c.nodeId === id)?.limitWatts ?? 5600;
    expect(limit('n0')).toBeLessThan(limit('n1'));
  });

  it('waits for pending limits to show before lowering again', () => {
    const fleet = fleetOf(6000, [4000, 4000]);
    expect(planPowerLimits(cluster(fleet), fleet.nodes, new Set(['n0']))).toEqual([]);
    expect(cluster(fleet).stage).toBe('cap');
  });

  it('raises capped limits stepwise once draw is back under the release threshold, then leaves the cap stage', () => {
    const fleet = fleetOf(10_000, [2000, 2000], [2000, 5000]);
    cluster(fleet).capping = true;
    const first = planPowerLimits(cluster(fleet), fleet.nodes, new Set());
    expect(first).toEqual([
      { nodeId: 'n0', limitWatts: 3000, direction: 'raise' },
      { nodeId: 'n1', limitWatts: 5600, direction: 'raise' },
    ]);
    // Both now report the maximum: nothing left capped, so the stage ends.
    fleet.applyHeartbeat(
      heartbeat({ nodeId: 'n0', cluster: 'c1', chips: 8, seq: 1, powerDrawWatts: 2000, powerLimitWatts: 5600 }),
      1,
    );
    fleet.applyHeartbeat(
      heartbeat({ nodeId: 'n1', cluster: 'c1', chips: 8, seq: 1, powerDrawWatts: 2000, powerLimitWatts: 5600 }),
      1,
    );
    expect(planPowerLimits(cluster(fleet), fleet.nodes, new Set())).toEqual([]);
    expect(cluster(fleet).capping).toBe(false);
    expect(cluster(fleet).stage).toBe('normal');
  });

  it('holds limits between the release threshold and the budget (hysteresis)', () => {
    const fleet = fleetOf(10_000, [4500, 4400], [4500, 4400]);
    cluster(fleet).capping = true;
    expect(planPowerLimits(cluster(fleet), fleet.nodes, new Set())).toEqual([]);
  });
});
