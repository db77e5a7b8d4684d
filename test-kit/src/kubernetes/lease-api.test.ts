import { ApiException, CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from './fake-kube-api.js';

// The REAL client-node CoordinationV1Api against the fake's Lease resource: the answers (codes, Status
// reasons and messages) are the apiserver's, so the scheduler's lease elector meets the same ones here.

const running: FakeKubeApi[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

async function start(): Promise<{ fake: FakeKubeApi; kc: KubeConfig }> {
  const fake = await startFakeKubeApi();
  running.push(fake);
  const kc = new KubeConfig();
  kc.loadFromOptions(fake.kubeConfigOptions());
  return { fake, kc };
}

/** The Status a client-node call was refused with (client-node drops the body of a 401: undefined then). */
async function refusal(call: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> | undefined }> {
  const error: unknown = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof ApiException)) throw new Error(`expected an ApiException, got ${String(error)}`);
  const status = error.body === undefined ? undefined : (JSON.parse(String(error.body)) as Record<string, unknown>);
  return { code: error.code, status };
}

function lease(name: string, spec: V1Lease['spec'] = {}, resourceVersion?: string): V1Lease {
  return { metadata: { name, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, spec };
}

describe('Leases through CoordinationV1Api', () => {
  it('creates, reads, replaces with optimistic concurrency and refuses stale or duplicate writes', async () => {
    const { fake, kc } = await start();
    const api = kc.makeApiClient(CoordinationV1Api);
    const renewTime = new V1MicroTime('2025-01-02T03:04:05.123Z');
    const created = await api.createNamespacedLease({
      namespace: 'switchyard',
      body: lease('scheduler-leader', { holderIdentity: 'sched-a', leaseDurationSeconds: 15, renewTime }),
    });
    expect(created.kind).toBe('Lease');
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    // MicroTime travels with six fractional digits; client-node hands it back as that string.
    expect(fake.getLease('switchyard', 'scheduler-leader')).toMatchObject({
      spec: { renewTime: '2025-01-02T03:04:05.123000Z' },
    });
    const read = await api.readNamespacedLease({ name: 'scheduler-leader', namespace: 'switchyard' });
    expect(String(read.spec?.renewTime)).toBe('2025-01-02T03:04:05.123000Z');

    const staleVersion = read.metadata?.resourceVersion ?? '';
    read.spec = {
      holderIdentity: 'sched-b',
      leaseDurationSeconds: 15,
      renewTime: new V1MicroTime(),
    };
    const replaced = await api.replaceNamespacedLease({
      name: 'scheduler-leader',
      namespace: 'switchyard',
      body: read,
    });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(staleVersion));
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    const stale = await refusal(
      api.replaceNamespacedLease({
        name: 'scheduler-leader',
        namespace: 'switchyard',
        body: lease('scheduler-leader', { holderIdentity: 'sched-c' }, staleVersion),
      }),
    );
    expect(stale).toEqual({
      code: 409,
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on leases.coordination.k8s.io "scheduler-leader": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'scheduler-leader', group: 'coordination.k8s.io', kind: 'leases' },
        code: 409,
      },
    });
    expect(fake.getLease('switchyard', 'scheduler-leader')).toMatchObject({ spec: { holderIdentity: 'sched-b' } });

    const duplicate = await refusal(
      api.createNamespacedLease({ namespace: 'switchyard', body: lease('scheduler-leader') }),
    );
    expect(duplicate.code).toBe(409);
    expect(duplicate.status).toMatchObject({
      reason: 'AlreadyExists',
      message: 'leases.coordination.k8s.io "scheduler-leader" already exists',
      details: { name: 'scheduler-leader', group: 'coordination.k8s.io', kind: 'leases' },
    });

    const missing = await refusal(api.readNamespacedLease({ name: 'nobody', namespace: 'switchyard' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({
      reason: 'NotFound',
      message: 'leases.coordination.k8s.io "nobody" not found',
    });
  });

  it('refuses a plain Date renewTime (three fractional digits) the way the apiserver decodes MicroTime', async () => {
    const { fake, kc } = await start();
    const api = kc.makeApiClient(CoordinationV1Api);
    const plainDate = new Date('2025-01-02T03:04:05.123Z');
    const refused = await refusal(
      api.createNamespacedLease({ namespace: 'default', body: lease('l', { renewTime: plainDate }) }),
    );
    expect(refused.code).toBe(400);
    expect(refused.status).toMatchObject({
      reason: 'BadRequest',
      message:
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2025-01-02T03:04:05.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"',
    });
    expect(fake.getLease('default', 'l')).toBeUndefined();
  });

  it('follows the lease strategy: PUT creates a missing lease, an update must carry a resourceVersion, delete answers a Status', async () => {
    const { fake, kc } = await start();
    const api = kc.makeApiClient(CoordinationV1Api);
    const createdByPut = await api.replaceNamespacedLease({
      name: 'node-a',
      namespace: 'kube-node-lease',
      body: lease('node-a'),
    });
    expect(createdByPut.metadata?.resourceVersion).toBeDefined();
    const unconditional = await refusal(
      api.replaceNamespacedLease({
        name: 'node-a',
        namespace: 'kube-node-lease',
        body: lease('node-a', { holderIdentity: 'x' }),
      }),
    );
    expect(unconditional.code).toBe(422);
    expect(unconditional.status).toMatchObject({
      reason: 'Invalid',
      message:
        'leases.coordination.k8s.io "node-a" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    });
    const invalid = await refusal(
      api.createNamespacedLease({
        namespace: 'kube-node-lease',
        body: lease('Not_A_Name', { leaseDurationSeconds: 0 }),
      }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.status?.['details']).toMatchObject({
      kind: 'Lease',
      causes: [
        { field: 'metadata.name' },
        { field: 'spec.leaseDurationSeconds', message: 'Invalid value: 0: must be greater than 0' },
      ],
    });
    const deleted = await api.deleteNamespacedLease({ name: 'node-a', namespace: 'kube-node-lease' });
    expect(deleted).toMatchObject({ status: 'Success', details: { name: 'node-a', kind: 'leases' } });
    expect(fake.getLease('kube-node-lease', 'node-a')).toBeUndefined();
  });
});

describe('Lease request bodies', () => {
  it('answers malformed, oversized and mismatched bodies with Status errors and keeps serving', async () => {
    const { fake, kc } = await start();
    const api = kc.makeApiClient(CoordinationV1Api);
    const leases = `${fake.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`;
    const malformed = await fetch(leases, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"metadata": {',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });

    const huge = lease('big');
    huge.metadata = { name: 'big', annotations: { blob: 'x'.repeat(4 * 1024 * 1024) } };
    const tooLarge = await refusal(api.createNamespacedLease({ namespace: 'default', body: huge }));
    expect(tooLarge).toMatchObject({
      code: 413,
      status: { reason: 'RequestEntityTooLarge', message: 'Request entity too large: limit is 3145728' },
    });

    const mismatch = await refusal(api.replaceNamespacedLease({ name: 'a', namespace: 'default', body: lease('b') }));
    expect(mismatch).toMatchObject({
      code: 400,
      status: { reason: 'BadRequest', message: 'the name of the object (b) does not match the name on the URL (a)' },
    });

    expect((await fetch(`${fake.url}/api/v1/pods`)).status).toBe(404);
    const patch = await fetch(`${leases}/a`, { method: 'PATCH', body: '{}' });
    expect(await patch.json()).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
    expect((await api.createNamespacedLease({ namespace: 'default', body: lease('after') })).metadata?.name).toBe(
      'after',
    );
  });
});
