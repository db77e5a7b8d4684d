import { getProfile } from '@switchyard/fleet-model';
import type { HostView } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { PlacementIndex } from '../placement/placement-index.js';
import { heartbeat, registration } from '../test-fixtures.js';
import type { FailureDetectorConfig } from './failure-detector.js';
import { FleetView } from './fleet-view.js';

const DETECTOR: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };

function fleetWith(hosts: Map<string, HostView>): { fleet: FleetView; index: PlacementIndex } {
  const index = new PlacementIndex();
  return { fleet: new FleetView(getProfile, DETECTOR, index, undefined, hosts), index };
}

const host = (kubernetesNode: string, condition: HostView['condition']): HostView => ({
  kubernetesNode,
  condition,
  instanceType: 'p5.48xlarge',
  zone: 'us-east-1a',
});

describe('FleetView and Kubernetes Nodes', () => {
  it('takes the Node state at registration: a node on a cordoned Node gets no work', () => {
    const { fleet } = fleetWith(new Map([['ip-10-0-1-5', host('ip-10-0-1-5', 'cordoned')]]));
    const outcome = fleet.register({ ...registration({ nodeId: 'a' }), kubernetesNode: 'ip-10-0-1-5' }, 0);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.node.host).toMatchObject({ kubernetesNode: 'ip-10-0-1-5', condition: 'cordoned' });
    expect(outcome.node.hostDraining).toBe(true);
    expect(outcome.node.schedulable).toBe(false);
  });

  it('treats a Node the watcher has not seen as unknown: neither draining nor vouched for', () => {
    const { fleet } = fleetWith(new Map());
    const outcome = fleet.register({ ...registration({ nodeId: 'a' }), kubernetesNode: 'ip-10-0-1-6' }, 0);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.node.host).toEqual({ kubernetesNode: 'ip-10-0-1-6', condition: 'unknown' });
    expect(outcome.node.schedulable).toBe(true);
  });

  it('drains every node on a Node that is cordoned, and only those, then restores them', () => {
    const { fleet, index } = fleetWith(new Map());
    for (const [nodeId, kubernetesNode] of [
      ['a', 'gpu-1'],
      ['b', 'gpu-1'],
      ['c', 'gpu-2'],
    ] as const) {
      fleet.register({ ...registration({ nodeId, loaded: ['llama-3.1-8b'] }), kubernetesNode }, 0);
    }
    fleet.register(registration({ nodeId: 'outside', loaded: ['llama-3.1-8b'] }), 0);
    const cordoned = fleet.applyHost(host('gpu-1', 'cordoned'));
    expect(cordoned.drained.map((n) => n.nodeId).toSorted()).toEqual(['a', 'b']);
    expect(cordoned.restored).toEqual([]);
    expect(
      fleet.nodes
        .filter((n) => n.schedulable)
        .map((n) => n.nodeId)
        .toSorted(),
    ).toEqual(['c', 'outside']);
    // The placement index was told: it holds only the schedulable nodes.
    expect(index.size).toBe(2);
    expect(fleet.applyHost(host('gpu-1', 'not-ready')).drained).toEqual([]); // already draining
    const back = fleet.applyHost(host('gpu-1', 'ready'));
    expect(back.restored.map((n) => n.nodeId).toSorted()).toEqual(['a', 'b']);
    expect(fleet.nodes.every((n) => n.schedulable)).toBe(true);
    expect(index.size).toBe(4);
    expect(fleet.applyHost(host('no-such-node', 'cordoned'))).toEqual({ drained: [], restored: [] });
    // The autoscaler deletes a Node after draining it: its agents, still heartbeating, stay drained.
    expect(fleet.applyHost(host('gpu-2', 'deleted')).drained.map((n) => n.nodeId)).toEqual(['c']);
  });

  it('follows an agent that reports another Node, and forgets nodes that leave', () => {
    const hosts = new Map([['gpu-1', host('gpu-1', 'ready')]]);
    const { fleet } = fleetWith(hosts);
    fleet.register({ ...registration({ nodeId: 'a' }), kubernetesNode: 'gpu-1' }, 0);
    expect(fleet.applyHeartbeat({ ...heartbeat({ nodeId: 'a', seq: 1 }), kubernetesNode: 'gpu-9' }, 10)).toBe(
      'applied',
    );
    expect(fleet.get('a')!.host).toEqual({ kubernetesNode: 'gpu-9', condition: 'unknown' });
    expect(fleet.applyHost(host('gpu-1', 'cordoned')).drained).toEqual([]);
    expect(fleet.applyHost(host('gpu-9', 'cordoned')).drained.map((n) => n.nodeId)).toEqual(['a']);
    // Leaving Kubernetes (no field) clears it.
    fleet.applyHeartbeat(heartbeat({ nodeId: 'a', seq: 2 }), 20);
    expect(fleet.get('a')!.host).toBeUndefined();
    expect(fleet.get('a')!.schedulable).toBe(true);
    fleet.register({ ...registration({ nodeId: 'b' }), kubernetesNode: 'gpu-1' }, 0);
    fleet.deregister('b', 'inc-1');
    expect(fleet.applyHost(host('gpu-1', 'not-ready')).drained).toEqual([]);
  });

  it('ignores Kubernetes entirely without a host lookup (outside a cluster)', () => {
    const fleet = new FleetView(getProfile, DETECTOR);
    const outcome = fleet.register({ ...registration({ nodeId: 'a' }), kubernetesNode: 'gpu-1' }, 0);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.node.host).toBeUndefined();
    expect(outcome.node.kubernetesNode).toBe('gpu-1');
    // Applying a host still works (the integration may start later), by the node's reported name.
    expect(fleet.applyHost(host('gpu-1', 'cordoned')).drained.map((n) => n.nodeId)).toEqual(['a']);
  });
});
