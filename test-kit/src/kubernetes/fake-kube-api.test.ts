import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  type V1Node,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type FakeKubeApiOptions, startFakeKubeApi } from './fake-kube-api.js';
import { eksTrn2Node, gfdH100Node } from './node-objects.js';

// The REAL client-node (ListWatch, Watch, CoreV1Api) against the fake, so that what passes here is
// what the scheduler's Kubernetes adapter will see from a real apiserver.

const running: FakeKubeApi[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

async function start(options?: FakeKubeApiOptions): Promise<{ fake: FakeKubeApi; kc: KubeConfig }> {
  const fake = await startFakeKubeApi(options);
  running.push(fake);
  const kc = new KubeConfig();
  kc.loadFromOptions(fake.kubeConfigOptions());
  return { fake, kc };
}

/** Polls until `check` holds (no fixed sleeps: each wait ends as soon as the condition is met). */
async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A node ListWatch that records its events and, like a real owner, restarts itself after an error. */
function startInformer(kc: KubeConfig) {
  const core = kc.makeApiClient(CoreV1Api);
  // What makeInformer builds, minus the type that hides latestResourceVersion().
  const informer = new ListWatch<V1Node>('/api/v1/nodes', new Watch(kc), () => core.listNode(), false);
  const events: string[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  informer.on('add', (node) => events.push(`add ${node.metadata?.name}`));
  informer.on('update', (node) => events.push(`update ${node.metadata?.name}`));
  informer.on('delete', (node) => events.push(`delete ${node.metadata?.name}`));
  // ListWatch reports a broken watch or a failed list as an error and stops; its owner restarts it.
  informer.on('error', (error) => {
    errors.push(error);
    if (!stopped) setTimeout(() => void informer.start(), 20);
  });
  const stop = async (): Promise<void> => {
    stopped = true;
    await informer.stop();
  };
  return { informer, events, errors, stop };
}

/** Node list (not watch) requests the fake received. */
const listRequests = (fake: FakeKubeApi) =>
  fake.requests.filter((r) => r.path === '/api/v1/nodes' && r.query['watch'] === undefined);
/** Watch requests the fake received. */
const watchRequests = (fake: FakeKubeApi) => fake.requests.filter((r) => r.query['watch'] === 'true');

describe('Node informer (client-node ListWatch)', () => {
  it('lists, then follows add, update and delete events', async () => {
    const { fake, kc } = await start();
    fake.putNode(eksTrn2Node({ name: 'trn2-a' }));
    const { informer, events, stop } = startInformer(kc);
    await informer.start();
    expect(informer.list().map((node) => node.metadata?.name)).toEqual(['trn2-a']);
    await eventually(() => fake.openWatches() === 1, 'the watch to open');

    fake.putNode(gfdH100Node({ name: 'h100-a' }));
    fake.cordon('trn2-a');
    fake.setReady('h100-a', false);
    const deletedVersion = fake.deleteNode('trn2-a');
    await eventually(() => events.length === 5, 'five events');
    expect(events).toEqual(['add trn2-a', 'add h100-a', 'update trn2-a', 'update h100-a', 'delete trn2-a']);
    const h100 = informer.get('h100-a');
    expect(h100?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KubeletNotReady',
    });
    expect(h100?.metadata?.labels?.['nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');
    expect(informer.latestResourceVersion()).toBe(deletedVersion);
    await stop();
  });

  it('resumes from its resourceVersion after dropped watches, and relists after 410 Gone', async () => {
    const { fake, kc } = await start();
    fake.putNode(eksTrn2Node({ name: 'trn2-a' }));
    const { informer, events, stop } = startInformer(kc);
    await informer.start();
    await eventually(() => fake.openWatches() === 1, 'the first watch');
    const cordonVersion = fake.cordon('trn2-a');
    await eventually(() => informer.latestResourceVersion() === cordonVersion, 'the cordon event');
    expect(informer.get('trn2-a')?.spec?.unschedulable).toBe(true);
    expect(informer.get('trn2-a')?.status?.capacity?.['aws.amazon.com/neuron']).toBe('16');

    expect(fake.dropWatches()).toBe(1);
    fake.putNode(eksTrn2Node({ name: 'trn2-b' })); // while nobody watches: must come from history
    await eventually(() => informer.get('trn2-b') !== undefined, 'the missed node to be replayed');
    expect(listRequests(fake)).toHaveLength(1);
    expect(watchRequests(fake).map((r) => r.query['resourceVersion'])).toEqual(['1', cordonVersion]);

    await eventually(() => fake.openWatches() === 1, 'the resumed watch');
    fake.dropWatches();
    fake.deleteNode('trn2-a');
    fake.putNode(gfdH100Node({ name: 'h100-a' }));
    fake.compactHistory();
    await eventually(() => listRequests(fake).length === 2, 'a relist after 410');
    await eventually(
      () => informer.get('h100-a') !== undefined && informer.get('trn2-a') === undefined,
      'the relisted state',
    );
    expect(events.slice(-2)).toEqual(['delete trn2-a', 'add h100-a']);
    await stop();
  });

  it('reports a failed list through the error callback and recovers on restart', async () => {
    const { fake, kc } = await start();
    fake.putNode(eksTrn2Node({ name: 'trn2-a' }));
    fake.failNext(1, 500, '/api/v1/nodes');
    const { informer, errors, stop } = startInformer(kc);
    await informer.start();
    await eventually(() => informer.get('trn2-a') !== undefined, 'the list after the restart');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ApiException);
    expect((errors[0] as ApiException<unknown>).code).toBe(500);
    expect(fake.requests.map((r) => r.status).slice(0, 2)).toEqual([500, 200]);
    await stop();
  });
});

describe('watch wire format', () => {
  it('sends BOOKMARK events carrying the current resourceVersion only to watches that allow them', async () => {
    const { fake, kc } = await start({ bookmarkIntervalMs: 100 });
    fake.putNode(eksTrn2Node({ name: 'trn2-a' }));
    const watch = new Watch(kc);
    const withBookmarks: { type: string; object: { metadata?: { resourceVersion?: string } } }[] = [];
    const withoutBookmarks: string[] = [];
    const a = await watch.watch(
      '/api/v1/nodes',
      { allowWatchBookmarks: true, resourceVersion: '1' },
      (type, object) => withBookmarks.push({ type, object }),
      () => {},
    );
    const b = await watch.watch(
      '/api/v1/nodes',
      { resourceVersion: '1' },
      (type) => withoutBookmarks.push(type),
      () => {},
    );
    await eventually(() => fake.openWatches() === 2, 'both watches');
    // A lease write moves the global resourceVersion without any Node event.
    const api = kc.makeApiClient(CoordinationV1Api);
    const leaseVersion = (await api.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'l' } } }))
      .metadata?.resourceVersion;
    await eventually(
      () =>
        withBookmarks.filter((e) => e.type === 'BOOKMARK' && e.object.metadata?.resourceVersion === leaseVersion)
          .length >= 2,
      'two bookmarks at the lease version',
    );
    expect(withBookmarks.find((e) => e.type === 'BOOKMARK')?.object).toEqual({
      kind: 'Node',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) as unknown },
    });
    expect(withoutBookmarks).toEqual([]);
    a.abort();
    b.abort();
  });

  it('answers a too-old resourceVersion with HTTP 200 and one ERROR event holding a 410 Status', async () => {
    const { fake } = await start({ historyLimit: 2 });
    for (const name of ['n1', 'n2', 'n3', 'n4']) fake.putNode(eksTrn2Node({ name }));
    const response = await fetch(`${fake.url}/api/v1/nodes?watch=true&resourceVersion=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(await response.text()).toBe(
      `${JSON.stringify({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'too old resource version: 1 (2)',
          reason: 'Expired',
          code: 410,
        },
      })}\n`,
    );
    const resumable = await fetch(`${fake.url}/api/v1/nodes?watch=true&resourceVersion=2&timeoutSeconds=1`);
    const lines = (await resumable.text()).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { type: string; object: V1Node }).object.metadata?.name)).toEqual([
      'n3',
      'n4',
    ]);
  });

  it('lists with the global resourceVersion, items without kind, and selects by label on list and watch', async () => {
    const { fake } = await start();
    fake.putNode(eksTrn2Node({ name: 'trn2-a' }));
    fake.putNode(gfdH100Node({ name: 'h100-a' }));
    const list = (await (
      await fetch(`${fake.url}/api/v1/nodes?labelSelector=nvidia.com%2Fgpu.present%3Dtrue&limit=500`)
    ).json()) as {
      kind: string;
      metadata: { resourceVersion: string };
      items: { kind?: string; metadata: { name: string } }[];
    };
    expect(list.kind).toBe('NodeList');
    expect(list.metadata.resourceVersion).toBe('2');
    expect(list.items.map((item) => [item.kind, item.metadata.name])).toEqual([[undefined, 'h100-a']]);

    const watch = fetch(
      `${fake.url}/api/v1/nodes?watch=true&resourceVersion=0&labelSelector=nvidia.com%2Fgpu.present%3Dtrue&timeoutSeconds=1`,
    );
    const response = await watch;
    await eventually(() => fake.openWatches() === 1, 'the watch');
    fake.putNode(gfdH100Node({ name: 'h100-a', labels: { 'nvidia.com/gpu.present': 'false' } }));
    fake.putNode(eksTrn2Node({ name: 'trn2-a', labels: { 'nvidia.com/gpu.present': 'true' } }));
    const events = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: V1Node });
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.metadata?.resourceVersion}`)).toEqual([
      'ADDED h100-a 2',
      'DELETED h100-a 3', // it stopped matching the selector
      'ADDED trn2-a 4',
    ]);
    expect(events[0]?.object.kind).toBe('Node');
  });
});

describe('errors and faults', () => {
  it('requires the bearer token when configured', async () => {
    const { fake, kc } = await start({ bearerToken: 's3cret' });
    const anonymous = await fetch(`${fake.url}/api/v1/nodes`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect((await kc.makeApiClient(CoreV1Api).listNode()).kind).toBe('NodeList');
    const wrong = new KubeConfig();
    wrong.loadFromOptions({ ...fake.kubeConfigOptions(), users: [{ name: 'fake-kube-api-user', token: 'guess' }] });
    await expect(wrong.makeApiClient(CoreV1Api).listNode()).rejects.toMatchObject({ code: 401 });
  });

  it('injects failures by path prefix and count', async () => {
    const { fake } = await start();
    fake.failNext(2, 429, '/apis/');
    expect((await fetch(`${fake.url}/api/v1/nodes`)).status).toBe(200);
    const throttled = await fetch(`${fake.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(await throttled.json()).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
    expect((await fetch(`${fake.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`)).status).toBe(429);
    expect((await fetch(`${fake.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`)).status).toBe(200);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 429, 429, 200]);
  });

  it('close() ends open watches cleanly and promptly', async () => {
    const fake = await startFakeKubeApi();
    const kc = new KubeConfig();
    kc.loadFromOptions(fake.kubeConfigOptions());
    let doneWith: unknown = 'not called';
    await new Watch(kc).watch(
      '/api/v1/nodes',
      {},
      () => {},
      (error) => (doneWith = error),
    );
    await eventually(() => fake.openWatches() === 1, 'the watch');
    const startedAt = Date.now();
    await fake.close();
    expect(Date.now() - startedAt).toBeLessThan(1000);
    await eventually(() => doneWith !== 'not called', 'the done callback');
    expect(doneWith).toBeNull();
  });
});
