import { getProfile } from '@switchyard/fleet-model';
import {
  type AdminVerb,
  ErrorReply,
  MAX_MESSAGE_BYTES,
  NodeCommandReply,
  NodeNotice,
  type NodeView,
  type PowerLimitAck,
  type PowerLimitCommand,
  RegistrationAck,
  StatusReply,
  subjects,
} from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import type { FailureDetectorConfig } from '../core/fleet/failure-detector.js';
import { FleetView } from '../core/fleet/fleet-view.js';
import type { Reservation } from '../core/fleet/node-record.js';
import { heartbeat, type NodeSpec, registration, reservation } from '../core/test-fixtures.js';
import { FleetService } from './fleet-service.js';
import { Counters, type Logger, type SchedulerOutbox } from './ports.js';

const DETECTOR: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Fleet messages only publish (notices); assignments belong to the inference path. */
class PublishRecorder implements SchedulerOutbox {
  readonly published: { subject: string; message: object }[] = [];
  publish(subject: string, message: object): void {
    this.published.push({ subject, message });
  }
  assign(): never {
    throw new Error('the fleet service never assigns');
  }
  adoptSession(): never {
    throw new Error('the fleet service never moves sessions');
  }
  releaseSession(): never {
    throw new Error('the fleet service never moves sessions');
  }
  /** Power limits are the power service's; recorded (and acked as sent) should the fleet path ever send one. */
  readonly powerLimits: { nodeId: string; command: PowerLimitCommand; timeoutMs: number }[] = [];
  setPowerLimit(nodeId: string, command: PowerLimitCommand, timeoutMs: number): Promise<PowerLimitAck> {
    this.powerLimits.push({ nodeId, command, timeoutMs });
    return Promise.resolve({ v: 1, ok: true, nodeId, appliedWatts: command.limitWatts });
  }
}

function setup() {
  let nowMs = 50_000;
  const fleet = new FleetView(getProfile, DETECTOR);
  const outbox = new PublishRecorder();
  const counters = new Counters();
  const lostWork: { nodeId: string; requestIds: string[] }[] = [];
  const onLostWork = (nodeId: string, lost: readonly Reservation[]): void => {
    lostWork.push({ nodeId, requestIds: lost.map((r) => r.requestId) });
  };
  const service = new FleetService('sched-t', fleet, DETECTOR, outbox, counters, silent, () => nowMs, onLostWork);
  const advance = (ms: number): void => {
    nowMs += ms;
  };
  const join = (spec: NodeSpec) => service.register(spec.nodeId ?? 'node-1', registration(spec));
  return { service, fleet, outbox, counters, lostWork, advance, join };
}

describe('FleetService.register', () => {
  it('acknowledges a registration with the detector thresholds', () => {
    const { join, fleet, counters } = setup();
    const reply = join({ nodeId: 'a' });
    expect(RegistrationAck.parse(reply)).toEqual({
      v: 1,
      ok: true,
      schedulerId: 'sched-t',
      suspectAfterMs: 3_000,
      deadAfterMs: 5_000,
    });
    expect(fleet.get('a')).toBeDefined();
    expect(counters.get('registrations.accepted')).toBe(1);
  });

  it.each<{ name: string; subject: string; spec: NodeSpec; code: string }>([
    { name: 'body naming another node', subject: 'a', spec: { nodeId: 'b' }, code: 'INVALID_REQUEST' },
    { name: 'unknown profile', subject: 'a', spec: { nodeId: 'a', profile: 'tpu-v9' }, code: 'UNKNOWN_PROFILE' },
  ])('refuses a $name with $code', ({ subject, spec, code }) => {
    const { service, fleet, counters } = setup();
    const reply = ErrorReply.parse(service.register(subject, registration(spec)));
    expect(reply.error.code).toBe(code);
    expect(fleet.size).toBe(0);
    expect(counters.get('registrations.rejected')).toBe(1);
  });

  it('hands over the work of a previous incarnation, and only then', () => {
    const { join, fleet, lostWork } = setup();
    join({ nodeId: 'a', incarnation: 'one' });
    fleet.assume(reservation('r1', 'a'));
    join({ nodeId: 'a', incarnation: 'one', seq: 4 });
    expect(lostWork).toEqual([]);
    join({ nodeId: 'a', incarnation: 'two' });
    expect(lostWork).toEqual([{ nodeId: 'a', requestIds: ['r1'] }]);
  });
});

describe('FleetService.heartbeat', () => {
  it('counts applied and stale heartbeats', () => {
    const { service, join, fleet, counters } = setup();
    join({ nodeId: 'a', seq: 1 });
    service.heartbeat('a', heartbeat({ nodeId: 'a', seq: 2, queueDepth: 5 }));
    service.heartbeat('a', heartbeat({ nodeId: 'a', seq: 2, queueDepth: 9 }));
    expect(fleet.get('a')!.queueDepth).toBe(5);
    expect(counters.snapshot()).toMatchObject({ 'heartbeats.applied': 1, 'heartbeats.stale': 1 });
  });

  it('asks an unknown node to register, at most once a second per node', () => {
    const { service, outbox, counters, advance } = setup();
    const beat = (nodeId: string) => service.heartbeat(nodeId, heartbeat({ nodeId, seq: 1 }));
    beat('ghost');
    advance(999);
    beat('ghost');
    beat('other');
    advance(1);
    beat('ghost');
    expect(outbox.published.map((p) => p.subject)).toEqual([
      subjects.notice('ghost'),
      subjects.notice('other'),
      subjects.notice('ghost'),
    ]);
    for (const { message } of outbox.published)
      expect(NodeNotice.parse(message)).toMatchObject({ v: 1, action: 'register' });
    expect(counters.get('dropped.unknown-node')).toBe(4);
  });

  it('treats a heartbeat of a node it declared dead, or of another incarnation, as unknown', () => {
    const { service, join, outbox, advance } = setup();
    join({ nodeId: 'a', incarnation: 'one' });
    service.heartbeat('a', heartbeat({ nodeId: 'a', incarnation: 'two', seq: 1 }));
    expect(outbox.published).toHaveLength(1);
    advance(DETECTOR.deadAfterMs);
    service.sweep();
    service.heartbeat('a', heartbeat({ nodeId: 'a', incarnation: 'one', seq: 2 }));
    expect(outbox.published.map((p) => p.subject)).toEqual([subjects.notice('a'), subjects.notice('a')]);
  });

  it('resets the notice throttle when the node registers', () => {
    const { service, join, outbox, advance } = setup();
    join({ nodeId: 'a', incarnation: 'one' });
    service.heartbeat('a', heartbeat({ nodeId: 'a', incarnation: 'two', seq: 1 }));
    advance(10);
    join({ nodeId: 'a', incarnation: 'one' });
    // Within the second, but the node registered since: a stray heartbeat is answered at once.
    service.heartbeat('a', heartbeat({ nodeId: 'a', incarnation: 'two', seq: 1 }));
    expect(outbox.published).toHaveLength(2);
  });

  it('drops and counts a heartbeat whose body names another node', () => {
    const { service, join, fleet, outbox, counters } = setup();
    join({ nodeId: 'a' });
    join({ nodeId: 'b' });
    service.heartbeat('a', heartbeat({ nodeId: 'b', seq: 5, queueDepth: 7 }));
    expect(counters.get('dropped.identity-mismatch')).toBe(1);
    expect(fleet.get('b')!.queueDepth).toBe(0);
    expect(outbox.published).toEqual([]);
  });
});

describe('FleetService.deregister and sweep', () => {
  it('removes a node on goodbye from its own incarnation and hands over its work', () => {
    const { service, join, fleet, counters, lostWork } = setup();
    join({ nodeId: 'a', incarnation: 'one' });
    fleet.assume(reservation('r1', 'a'));
    service.deregister('b', { v: 1, nodeId: 'a', incarnation: 'one', reason: 'spoof' });
    service.deregister('a', { v: 1, nodeId: 'a', incarnation: 'zero', reason: 'old' });
    expect(fleet.get('a')).toBeDefined();
    expect(counters.get('dropped.identity-mismatch')).toBe(1);
    service.deregister('a', { v: 1, nodeId: 'a', incarnation: 'one', reason: 'SIGTERM' });
    expect(fleet.get('a')).toBeUndefined();
    expect(counters.get('nodes.deregistered')).toBe(1);
    expect(lostWork).toEqual([{ nodeId: 'a', requestIds: ['r1'] }]);
  });

  it('counts suspect and dead nodes and hands over the work of the dead', () => {
    const { service, join, fleet, counters, lostWork, advance } = setup();
    join({ nodeId: 'a' });
    join({ nodeId: 'idle' });
    fleet.assume(reservation('r1', 'a'));
    advance(DETECTOR.suspectAfterMs);
    expect(service.sweep().suspected).toHaveLength(2);
    advance(DETECTOR.deadAfterMs - DETECTOR.suspectAfterMs);
    service.sweep();
    expect(counters.snapshot()).toMatchObject({ 'nodes.suspected': 2, 'nodes.died': 2 });
    expect(lostWork).toEqual([{ nodeId: 'a', requestIds: ['r1'] }]);
  });
});

/** East: a, b ready and c dead; west: d cordoned. */
function statusFleet() {
  const env = setup();
  const { join, service, advance } = env;
  join({
    nodeId: 'c',
    cluster: 'east',
    profile: 'l4',
    powerDrawWatts: 999,
    powerLimitWatts: 999,
    inFlight: 50,
    queueDepth: 50,
    utilization: 1,
  });
  advance(4_000);
  join({
    nodeId: 'a',
    cluster: 'east',
    profile: 'h100',
    maxBatchSize: 2048,
    powerDrawWatts: 1000,
    powerLimitWatts: 5000,
    inFlight: 3,
    queueDepth: 1,
    utilization: 0.5,
  });
  join({
    nodeId: 'b',
    cluster: 'east',
    profile: 'l4',
    maxBatchSize: 256,
    powerDrawWatts: 200,
    powerLimitWatts: 288,
    inFlight: 2,
    queueDepth: 0,
    utilization: 0.25,
  });
  join({
    nodeId: 'd',
    cluster: 'west',
    profile: 'trn2',
    maxBatchSize: 256,
    powerDrawWatts: 3000,
    powerLimitWatts: 8000,
    inFlight: 0,
    queueDepth: 4,
    utilization: 0.75,
  });
  service.command('cordon', { v: 1, nodeId: 'd' });
  advance(1_000);
  service.sweep(); // c has been silent 5 s: dead
  return env;
}

describe('FleetService.status', () => {
  it('aggregates clusters, leaving dead nodes out of power, load and utilisation', () => {
    const { service } = statusFleet();
    const reply = StatusReply.parse(service.status({ v: 1, nodeLimit: 200 }));
    expect(reply.totalNodes).toBe(4);
    expect(reply.uptimeMs).toBe(5_000);
    expect(reply.clusters).toEqual([
      {
        cluster: 'east',
        nodes: 3,
        readyNodes: 2,
        powerDrawWatts: 1200,
        powerLimitWatts: 5288,
        inFlight: 5,
        queueDepth: 1,
        batchSlots: 2048 + 256,
        utilization: 0.375, // mean of the live nodes a and b
      },
      {
        cluster: 'west',
        nodes: 1,
        readyNodes: 0,
        powerDrawWatts: 3000,
        powerLimitWatts: 8000,
        inFlight: 0,
        queueDepth: 4,
        batchSlots: 256,
        utilization: 0.75,
      },
    ]);
    expect(reply.nodes.map((n) => [n.nodeId, n.state, n.lastHeartbeatAgeMs, n.utilization])).toEqual([
      ['a', 'ready', 1_000, 0.5],
      ['b', 'ready', 1_000, 0.25],
      ['c', 'dead', 5_000, 1],
      ['d', 'cordoned', 1_000, 0.75],
    ]);
    expect(reply.counters).toMatchObject({ 'registrations.accepted': 4, 'nodes.died': 1 });
  });

  it.each([0, 1, 3])('lists at most nodeLimit = %d nodes, in id order', (nodeLimit) => {
    const { service } = statusFleet();
    const reply = service.status({ v: 1, nodeLimit });
    expect(reply.nodes.map((n) => n.nodeId)).toEqual(['a', 'b', 'c', 'd'].slice(0, nodeLimit));
    expect(reply.totalNodes).toBe(4);
  });

  it('lists fewer nodes rather than exceed one message', () => {
    const { service, join } = setup();
    const ids = Array.from({ length: 1_000 }, (_, i) => `node-${String(i).padStart(4, '0')}`);
    for (const nodeId of ids) join({ nodeId, loaded: ['llama-3.1-8b', 'mistral-7b', 'qwen2.5-7b'] });
    const reply = service.status({ v: 1, nodeLimit: 1_000 });
    expect(Buffer.byteLength(JSON.stringify(reply))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(reply.nodes.length).toBeGreaterThan(100);
    expect(reply.nodes.map((n) => n.nodeId)).toEqual(ids.slice(0, reply.nodes.length));
    expect(reply.totalNodes).toBe(1_000);
  });
});

describe('FleetService.command', () => {
  it.each<[verb: AdminVerb, operatorState: string, state: NodeView['state']]>([
    ['cordon', 'cordoned', 'cordoned'],
    ['drain', 'draining', 'draining'],
    ['uncordon', 'active', 'ready'],
  ])('%s sets the node %s and shows it %s', (verb, operatorState, state) => {
    const { service, join, fleet } = setup();
    join({ nodeId: 'a' });
    if (verb === 'uncordon') service.command('cordon', { v: 1, nodeId: 'a' });
    const reply = NodeCommandReply.parse(service.command(verb, { v: 1, nodeId: 'a' }));
    expect(reply.node).toMatchObject({ nodeId: 'a', state });
    expect(fleet.get('a')!.operatorState).toBe(operatorState);
  });

  it('answers UNKNOWN_NODE for a node it does not know', () => {
    const { service } = setup();
    expect(ErrorReply.parse(service.command('cordon', { v: 1, nodeId: 'ghost' })).error.code).toBe('UNKNOWN_NODE');
  });

  it('shows suspect and self-draining nodes as such', () => {
    const { service, join, fleet } = setup();
    join({ nodeId: 'a' });
    join({ nodeId: 'b', state: 'draining' });
    fleet.markSuspect('a');
    expect(service.status({ v: 1, nodeLimit: 10 }).nodes.map((n) => n.state)).toEqual(['suspect', 'draining']);
  });
});

function setupWithHooks() {
  const fleet = new FleetView(getProfile, DETECTOR);
  const counters = new Counters();
  const gone: [string, string][] = [];
  let capacityCalls = 0;
  const service = new FleetService(
    'sched-t',
    fleet,
    DETECTOR,
    new PublishRecorder(),
    counters,
    silent,
    () => 50_000,
    () => undefined,
    (nodeId, reason) => gone.push([nodeId, reason]),
    () => capacityCalls++,
  );
  for (const [nodeId, kubernetesNode] of [
    ['a', 'gpu-1'],
    ['b', 'gpu-2'],
  ] as const) {
    service.register(nodeId, { ...registration({ nodeId }), kubernetesNode });
  }
  return { service, gone, counters, capacity: () => capacityCalls };
}

describe('FleetService.hostChanged (Kubernetes Nodes)', () => {
  it('drains the nodes of a cordoned Node: their sessions move, status says draining with the host', () => {
    const { service, gone, counters } = setupWithHooks();
    service.hostChanged({ kubernetesNode: 'gpu-1', condition: 'cordoned', instanceType: 'p5.48xlarge' });
    expect(gone).toEqual([['a', 'drained']]);
    expect(counters.get('nodes.host_drained')).toBe(1);
    const status = StatusReply.parse(service.status({ v: 1, nodeLimit: 10 }));
    const a = status.nodes.find((n) => n.nodeId === 'a');
    expect(a).toMatchObject({
      state: 'draining',
      host: { kubernetesNode: 'gpu-1', condition: 'cordoned', instanceType: 'p5.48xlarge' },
    });
    expect(status.nodes.find((n) => n.nodeId === 'b')?.state).toBe('ready');
    // Told again (an unrelated Node update): nothing moves twice.
    service.hostChanged({ kubernetesNode: 'gpu-1', condition: 'cordoned', instanceType: 'p5.48xlarge' });
    expect(gone).toHaveLength(1);
  });

  it('lets waiting work go to nodes whose Node is schedulable and Ready again', () => {
    const { service, capacity } = setupWithHooks();
    service.hostChanged({ kubernetesNode: 'gpu-2', condition: 'not-ready' });
    const before = capacity();
    service.hostChanged({ kubernetesNode: 'gpu-2', condition: 'ready' });
    expect(capacity()).toBe(before + 1);
    const status = StatusReply.parse(service.status({ v: 1, nodeLimit: 10 }));
    expect(status.nodes.find((n) => n.nodeId === 'b')?.state).toBe('ready');
  });
});
