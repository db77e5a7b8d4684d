import { KubeConfig } from '@kubernetes/client-node';
import type { HostView } from '@switchyard/protocol';
import { eksTrn2Node, type FakeKubeApi, gfdH100Node, startFakeKubeApi } from '@switchyard/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Counters, type Logger } from '../../service/ports.js';
import { KubernetesNodeWatcher, type NodeWatcherOptions } from './kubernetes-node-watcher.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let fake: FakeKubeApi;
let watcher: KubernetesNodeWatcher | undefined;

beforeEach(async () => {
  fake = await startFakeKubeApi({ bookmarkIntervalMs: 100 });
  fake.putNode(gfdH100Node({ name: 'gpu-1' }));
  fake.putNode(eksTrn2Node({ name: 'trn-1' }));
});

afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await fake.close();
});

async function startWatcher(options: NodeWatcherOptions = {}): Promise<{ seen: HostView[]; counters: Counters }> {
  const kc = new KubeConfig();
  kc.loadFromOptions(fake.kubeConfigOptions());
  const counters = new Counters();
  watcher = new KubernetesNodeWatcher(kc, silent, counters, { restartDelayMs: 50, ...options });
  const seen: HostView[] = [];
  await watcher.start((host) => seen.push(host), 3_000);
  return { seen, counters };
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const startedMs = Date.now();
  while (!condition()) {
    if (Date.now() - startedMs > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const lists = (): number =>
  fake.requests.filter((r) => r.path === '/api/v1/nodes' && r.query['watch'] !== 'true').length;
const watches = () => fake.requests.filter((r) => r.path === '/api/v1/nodes' && r.query['watch'] === 'true');

describe('KubernetesNodeWatcher against a Kubernetes API server', () => {
  it('lists the Nodes with their instance type, zone and accelerator, then watches with bookmarks', async () => {
    const { seen } = await startWatcher();
    expect(watcher!.synced).toBe(true);
    expect(seen.map((h) => h.kubernetesNode).toSorted()).toEqual(['gpu-1', 'trn-1']);
    expect(watcher!.get('gpu-1')).toMatchObject({ condition: 'ready', accelerator: expect.stringMatching(/H100/) });
    expect(watcher!.get('trn-1')).toMatchObject({ condition: 'ready', instanceType: 'trn2.48xlarge' });
    await until(() => watches().length > 0);
    expect(watches()[0]!.query).toMatchObject({ allowWatchBookmarks: 'true' });
    expect(Number(watches()[0]!.query['timeoutSeconds'])).toBeGreaterThanOrEqual(300);
  });

  it('tells about cordon, NotReady and deletion as they happen, and nothing for no change', async () => {
    const { seen } = await startWatcher();
    seen.length = 0;
    await until(() => fake.openWatches() > 0);
    fake.cordon('gpu-1');
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ kubernetesNode: 'gpu-1', condition: 'cordoned' });
    fake.setReady('trn-1', false);
    await until(() => seen.length === 2);
    expect(seen[1]).toMatchObject({ kubernetesNode: 'trn-1', condition: 'not-ready' });
    fake.deleteNode('trn-1');
    await until(() => seen.length === 3);
    expect(seen[2]).toEqual({ kubernetesNode: 'trn-1', condition: 'deleted' });
    expect(watcher!.get('trn-1')).toBeUndefined();
    // An update that changes nothing the scheduler reads (a heartbeat timestamp) is not passed on.
    fake.setReady('gpu-1', false);
    fake.setReady('gpu-1', false);
    await until(() => seen.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toHaveLength(4);
  });

  it('resumes a dropped watch from its resourceVersion without listing again', async () => {
    const { seen } = await startWatcher();
    await until(() => fake.openWatches() > 0);
    expect(lists()).toBe(1);
    expect(fake.dropWatches()).toBe(1);
    fake.cordon('trn-1'); // while no watch is open
    await until(() => seen.some((h) => h.kubernetesNode === 'trn-1' && h.condition === 'cordoned'));
    expect(lists()).toBe(1);
    expect(watches().length).toBeGreaterThanOrEqual(2);
  });

  it('lists again when its resourceVersion is too old (410), and sees what changed meanwhile', async () => {
    const { seen } = await startWatcher();
    await until(() => fake.openWatches() > 0);
    fake.compactHistory();
    fake.dropWatches();
    fake.deleteNode('gpu-1');
    fake.compactHistory();
    await until(() => seen.some((h) => h.kubernetesNode === 'gpu-1' && h.condition === 'deleted'));
    expect(lists()).toBeGreaterThanOrEqual(2);
    expect(watcher!.get('gpu-1')).toBeUndefined();
    expect(watcher!.get('trn-1')).toBeDefined();
  });

  it('restarts after the API fails, with a doubling delay, keeping the Nodes it knew', async () => {
    fake.failNext(2, 500, '/api/v1/nodes');
    const { seen, counters } = await startWatcher();
    await until(() => watcher!.synced);
    expect(counters.get('kubernetes.watch_errors')).toBe(2);
    expect(seen.map((h) => h.kubernetesNode).toSorted()).toEqual(['gpu-1', 'trn-1']);
  });
});
