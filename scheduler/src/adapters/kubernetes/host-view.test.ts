import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { hostViewOfNode, sameHostView } from './host-view.js';

function node(spec: {
  name?: string;
  labels?: Record<string, string>;
  capacity?: Record<string, string>;
  unschedulable?: boolean;
  ready?: 'True' | 'False' | 'Unknown' | 'absent';
}): V1Node {
  const ready = spec.ready ?? 'True';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { ...(spec.name === undefined ? {} : { name: spec.name }), labels: spec.labels ?? {} },
    spec: spec.unschedulable === undefined ? {} : { unschedulable: spec.unschedulable },
    status: {
      capacity: spec.capacity ?? { cpu: '192', memory: '2097152Ki' },
      conditions:
        ready === 'absent'
          ? [{ type: 'MemoryPressure', status: 'False' }]
          : [
              { type: 'MemoryPressure', status: 'False' },
              { type: 'Ready', status: ready },
            ],
    },
  };
}

describe('hostViewOfNode', () => {
  it('reads an EKS p5 node labelled by GPU Feature Discovery', () => {
    expect(
      hostViewOfNode(
        node({
          name: 'ip-10-0-12-34.ec2.internal',
          labels: {
            'node.kubernetes.io/instance-type': 'p5.48xlarge',
            'topology.kubernetes.io/region': 'us-east-1',
            'topology.kubernetes.io/zone': 'us-east-1a',
            'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
            'nvidia.com/gpu.count': '8',
          },
          capacity: { cpu: '192', 'nvidia.com/gpu': '8' },
        }),
      ),
    ).toEqual({
      kubernetesNode: 'ip-10-0-12-34.ec2.internal',
      condition: 'ready',
      instanceType: 'p5.48xlarge',
      region: 'us-east-1',
      zone: 'us-east-1a',
      accelerator: '8× NVIDIA-H100-80GB-HBM3',
    });
  });

  it('reads a trn2 node from the Neuron device plugin capacity and the old beta labels', () => {
    expect(
      hostViewOfNode(
        node({
          name: 'trn2-a',
          labels: {
            'beta.kubernetes.io/instance-type': 'trn2.48xlarge',
            'failure-domain.beta.kubernetes.io/zone': 'us-east-2b',
          },
          capacity: { 'aws.amazon.com/neuron': '16', 'aws.amazon.com/neuroncore': '128' },
        }),
      ),
    ).toEqual({
      kubernetesNode: 'trn2-a',
      condition: 'ready',
      instanceType: 'trn2.48xlarge',
      zone: 'us-east-2b',
      accelerator: '16× aws.amazon.com/neuron',
    });
  });

  it('says cordoned for spec.unschedulable and not-ready for a Ready condition other than True', () => {
    expect(hostViewOfNode(node({ name: 'a', unschedulable: true }))?.condition).toBe('cordoned');
    expect(hostViewOfNode(node({ name: 'a', ready: 'False' }))?.condition).toBe('not-ready');
    expect(hostViewOfNode(node({ name: 'a', ready: 'Unknown' }))?.condition).toBe('not-ready');
    expect(hostViewOfNode(node({ name: 'a', ready: 'absent' }))?.condition).toBe('not-ready');
    // Both: not-ready says more (the machine, not only its scheduling, is in trouble).
    expect(hostViewOfNode(node({ name: 'a', unschedulable: true, ready: 'False' }))?.condition).toBe('not-ready');
  });

  it('skips a Node without a name and leaves out what the Node does not say', () => {
    expect(hostViewOfNode(node({}))).toBeUndefined();
    expect(hostViewOfNode(node({ name: 'cpu-1', capacity: { 'nvidia.com/gpu': '0' } }))).toEqual({
      kubernetesNode: 'cpu-1',
      condition: 'ready',
    });
  });

  it('bounds label values to what a NodeView carries', () => {
    const view = hostViewOfNode(node({ name: 'a', labels: { 'node.kubernetes.io/instance-type': 'x'.repeat(500) } }));
    expect(view?.instanceType).toHaveLength(128);
  });
});

describe('sameHostView', () => {
  it('compares every field', () => {
    const a = hostViewOfNode(node({ name: 'a', labels: { 'topology.kubernetes.io/zone': 'z1' } }));
    expect(sameHostView(a, hostViewOfNode(node({ name: 'a', labels: { 'topology.kubernetes.io/zone': 'z1' } })))).toBe(
      true,
    );
    expect(sameHostView(a, hostViewOfNode(node({ name: 'a', labels: { 'topology.kubernetes.io/zone': 'z2' } })))).toBe(
      false,
    );
    expect(sameHostView(a, undefined)).toBe(false);
  });
});
