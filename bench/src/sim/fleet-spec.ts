/** Fleet spec files for the simulator: the topology file's format plus node groups (protocol's FleetSpecConfig). */
import { readFileSync } from 'node:fs';
import { type FleetSpecConfig, parseFleetSpec } from '@switchyard/protocol';
import type { TopologySpec } from '@switchyard/scheduler';
import type { SimNodeGroup } from './simulator.js';

/** A validated fleet, in the simulator's terms. */
export interface SimFleet {
  readonly topology: TopologySpec;
  readonly groups: readonly SimNodeGroup[];
}

/** Turns a validated spec into the simulator's input. */
export function simFleetOf(spec: FleetSpecConfig): SimFleet {
  return {
    topology: {
      clusters: spec.clusters.map((c) => ({
        name: c.name,
        location: c.location,
        powerBudgetWatts: c.powerBudgetWatts,
        safetyMargin: c.safetyMargin,
      })),
      regions: spec.regions,
      unlistedLatencyMs: spec.unlistedLatencyMs,
      ...(spec.powerThresholds === undefined ? {} : { powerThresholds: spec.powerThresholds }),
    },
    groups: spec.nodes.map((group) => ({
      cluster: group.cluster,
      profile: group.profile,
      count: group.count,
      models: group.models,
      ...(group.chips === undefined ? {} : { chips: group.chips }),
      ...(group.maxBatchSize === undefined ? {} : { maxBatchSize: group.maxBatchSize }),
    })),
  };
}

/** Reads and validates a fleet spec file; ConfigError names the file and every problem. */
export function loadFleetSpec(path: string): SimFleet {
  return simFleetOf(parseFleetSpec(readFileSync(path, 'utf8'), path));
}
