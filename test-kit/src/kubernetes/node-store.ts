import { randomUUID } from 'node:crypto';
import {
  cloneJson,
  isJsonObject,
  type KubeObject,
  type RevisionCounter,
  rfc3339Seconds,
  withTypeMeta,
} from './kube-object.js';
import { WatchHub } from './watch-hub.js';

/** A misuse of the fake API server's test-side methods (HTTP clients always get a Status instead). */
export class FakeKubeApiError extends Error {
  override readonly name = 'FakeKubeApiError';
  constructor(
    readonly code: 'NODE_NOT_FOUND' | 'INVALID_NODE' | 'INVALID_ARGUMENT',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Nodes of the fake API server, written by the test (as kubelets and controllers would) and read by
 * clients through list, get and watch. Every write takes the next global resourceVersion and becomes a watch
 * event; stored objects are never mutated afterwards, so history can share them.
 */
export class NodeStore {
  readonly watch: WatchHub;
  private readonly nodes = new Map<string, KubeObject>();

  constructor(
    private readonly revisions: RevisionCounter,
    historyLimit: number,
    bookmarkIntervalMs: number,
  ) {
    const watched = {
      kind: 'Node',
      apiVersion: 'v1',
      currentVersion: () => revisions.current(),
      currentObjects: () => this.sorted(),
    };
    this.watch = new WatchHub(watched, historyLimit, bookmarkIntervalMs);
  }

  /** The stored node (do not mutate), or undefined. */
  find(name: string): KubeObject | undefined {
    return this.nodes.get(name);
  }

  /** All nodes by name, as etcd returns keys. */
  sorted(): KubeObject[] {
    return [...this.nodes.values()].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  }

  /** Creates or replaces a node; uid and creationTimestamp survive a replace. */
  put(node: object): string {
    const incoming = cloneJson(node) as Partial<KubeObject>;
    const name = isJsonObject(incoming.metadata) ? incoming.metadata.name : undefined;
    if (typeof name !== 'string' || name === '') {
      throw new FakeKubeApiError('INVALID_NODE', 'putNode needs a node with a non-empty metadata.name');
    }
    const existing = this.nodes.get(name);
    const metadata = {
      ...incoming.metadata,
      uid: existing?.metadata.uid ?? incoming.metadata?.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? rfc3339Seconds(new Date()),
    };
    return this.write({ ...incoming, metadata }, existing);
  }

  /** Deletes a node; the DELETED event carries its last state at the deletion's resourceVersion. */
  delete(name: string): string {
    const existing = this.require(name);
    const resourceVersion = this.revisions.next();
    const deleted = cloneJson(existing);
    deleted.metadata.resourceVersion = String(resourceVersion);
    this.nodes.delete(name);
    this.watch.record({ type: 'DELETED', resourceVersion, object: deleted, previous: existing });
    return String(resourceVersion);
  }

  /** Sets or clears spec.unschedulable, as `kubectl cordon`/`uncordon` do. */
  cordon(name: string, unschedulable: boolean): string {
    const existing = this.require(name);
    const node = cloneJson(existing);
    const spec = isJsonObject(node['spec']) ? node['spec'] : {};
    // `unschedulable` is omitempty: an uncordoned node carries no field at all.
    if (unschedulable) spec['unschedulable'] = true;
    else delete spec['unschedulable'];
    node['spec'] = spec;
    return this.write(node, existing);
  }

  /** Sets the Ready condition as the kubelet reports it; lastTransitionTime moves only on a change. */
  setReady(name: string, ready: boolean): string {
    const existing = this.require(name);
    const node = cloneJson(existing);
    const status = isJsonObject(node['status']) ? node['status'] : {};
    const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as Record<string, unknown>[]) : [];
    const now = rfc3339Seconds(new Date());
    const wanted = ready ? 'True' : 'False';
    const previous = conditions.find((condition) => condition['type'] === 'Ready');
    const condition: Record<string, unknown> = {
      type: 'Ready',
      status: wanted,
      lastHeartbeatTime: now,
      lastTransitionTime: previous?.['status'] === wanted ? (previous['lastTransitionTime'] ?? now) : now,
      reason: ready ? 'KubeletReady' : 'KubeletNotReady',
      message: ready
        ? 'kubelet is posting ready status'
        : 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    };
    status['conditions'] =
      previous === undefined ? [...conditions, condition] : conditions.map((c) => (c === previous ? condition : c));
    node['status'] = status;
    return this.write(node, existing);
  }

  private require(name: string): KubeObject {
    const node = this.nodes.get(name);
    if (node === undefined) {
      throw new FakeKubeApiError('NODE_NOT_FOUND', `no node named ${JSON.stringify(name)} in the fake API server`);
    }
    return node;
  }

  private write(node: KubeObject, existing: KubeObject | undefined): string {
    const resourceVersion = this.revisions.next();
    const stored = withTypeMeta(node, 'Node', 'v1');
    stored.metadata.resourceVersion = String(resourceVersion);
    this.nodes.set(stored.metadata.name ?? '', stored);
    const type = existing === undefined ? 'ADDED' : 'MODIFIED';
    this.watch.record({ type, resourceVersion, object: stored, previous: existing });
    return String(resourceVersion);
  }
}
