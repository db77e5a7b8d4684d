import { getProfile } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import { model, registration } from '../test-fixtures.js';
import { Topology } from '../topology/topology.js';
import { ServingShapes } from './serving-shapes.js';

function fleetOf(): FleetView {
  const topology = new Topology({
    clusters: [
      { name: 'near', location: 'fra', powerBudgetWatts: 1e6 },
      { name: 'far', location: 'sfo', powerBudgetWatts: 1e6 },
    ],
    regions: [{ name: 'eu', latencyMs: { near: 10, far: 150 } }],
  });
  return new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, undefined, topology);
}

describe('ServingShapes', () => {
  it('folds alike nodes into one shape per cluster and hardware, loaded if any node has the model', () => {
    const fleet = fleetOf();
    fleet.register(registration({ nodeId: 'n1', profile: 'h100', cluster: 'near', loaded: ['llama-3.1-8b'] }), 0);
    fleet.register(registration({ nodeId: 'n2', profile: 'h100', cluster: 'near' }), 0);
    fleet.register(registration({ nodeId: 'n3', profile: 'h100', cluster: 'far' }), 0);
    fleet.register(registration({ nodeId: 'n4', profile: 'l4', cluster: 'near', state: 'draining' }), 0);
    const shapes = new ServingShapes(fleet, 1_000).forRequest(model('llama-3.1-8b'), 'eu', 0);
    const summary = shapes
      .map((s) => `${s.hardware.profile.name}/${s.networkMs}/${s.modelLoaded ? 'loaded' : 'cold'}`)
      .toSorted();
    expect(summary).toEqual(['h100/10/loaded', 'h100/150/cold', 'l4/10/cold']);
    const noRegion = new ServingShapes(fleet, 1_000).forRequest(model('llama-3.1-8b'), undefined, 0);
    expect(noRegion.map((s) => s.networkMs)).toEqual([0, 0, 0]);
  });

  it('rebuilds when the fleet grows, and otherwise only after refreshMs', () => {
    const fleet = fleetOf();
    const shapes = new ServingShapes(fleet, 1_000);
    const small = model('llama-3.1-8b');
    expect(shapes.forRequest(small, undefined, 0)).toEqual([]);
    fleet.register(registration({ nodeId: 'n1', profile: 'h100', cluster: 'near' }), 0);
    expect(shapes.forRequest(small, undefined, 1)).toHaveLength(1);
    // The same node now reports the model loaded: seen after the refresh interval, not before.
    fleet.register(
      registration({ nodeId: 'n1', incarnation: 'inc-2', profile: 'h100', cluster: 'near', loaded: [small.name] }),
      2,
    );
    expect(shapes.forRequest(small, undefined, 999)[0]?.modelLoaded).toBe(false);
    expect(shapes.forRequest(small, undefined, 1_001)[0]?.modelLoaded).toBe(true);
  });
});
