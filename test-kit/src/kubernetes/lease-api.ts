import { randomUUID } from 'node:crypto';
import {
  cloneJson,
  isJsonObject,
  type KubeObject,
  type RevisionCounter,
  rfc3339Seconds,
  withoutTypeMeta,
  withTypeMeta,
} from './kube-object.js';
import {
  alreadyExistsStatus,
  badRequestStatus,
  conflictStatus,
  type FieldError,
  type GroupResource,
  invalidField,
  invalidStatus,
  type KubeStatus,
  notFoundStatus,
  requiredField,
} from './kube-status.js';

/**
 * The `coordination.k8s.io/v1` Lease resource of the fake API server (Lease API reference:
 * kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/), with the apiserver's rules:
 * - Lease strategy (pkg/registry/coordination/lease/strategy.go): `AllowCreateOnUpdate` true — a PUT to a
 *   missing lease creates it (201); `AllowUnconditionalUpdate` FALSE — a PUT on an existing lease without
 *   metadata.resourceVersion is refused 422 "metadata.resourceVersion: Invalid value: 0x0: must be specified
 *   for an update" (registry/generic/registry/store.go `Update`), a stale one gets 409 Conflict.
 * - `spec.acquireTime`/`spec.renewTime` are `metav1.MicroTime`, decoded with
 *   `time.Parse("2006-01-02T15:04:05.000000Z07:00", s)` (apimachinery pkg/apis/meta/v1/micro_time.go): exactly
 *   six fractional digits. A JavaScript Date's three ("…:50.278Z") fail to DECODE, which the apiserver answers
 *   with 400 BadRequest "Lease in version \"v1\" cannot be handled as a Lease: parsing time … cannot parse
 *   \".278Z\" as \".000000\"" (handlers `transformDecodeError`; seen from this very client in
 *   kubernetes-client/javascript#828) — not 422. client-node's `V1MicroTime` writes the six digits.
 * - Name/namespace checks (handlers/rest.go `checkName`, rest.EnsureObjectNamespaceMatchesRequestNamespace)
 *   and `ValidateLease` (name is a DNS subdomain, leaseDurationSeconds > 0, leaseTransitions >= 0).
 */

const leases: GroupResource = { group: 'coordination.k8s.io', resource: 'leases' };
const leaseApiVersion = 'coordination.k8s.io/v1';
const microTimeLayout = '2006-01-02T15:04:05.000000Z07:00';
const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A reply: HTTP status and JSON body. */
export interface ApiReply {
  readonly status: number;
  readonly body: object;
}

function fail(status: KubeStatus): ApiReply {
  return { status: status.code ?? 500, body: status };
}

/**
 * Why Go's `time.Parse(RFC3339Micro, value)` refuses `value`, in Go's words; undefined when it accepts it.
 */
export function microTimeParseError(value: string): string | undefined {
  const prefix = `parsing time ${JSON.stringify(value)} as ${JSON.stringify(microTimeLayout)}`;
  const head = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(value);
  if (head === null) return `${prefix}: cannot parse ${JSON.stringify(value)} as "2006"`;
  const [year, month, day, hour, minute, second] = head.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const rangeError =
    month < 1 || month > 12
      ? 'month'
      : day < 1 || day > daysInMonth
        ? 'day'
        : hour > 23
          ? 'hour'
          : minute > 59
            ? 'minute'
            : second > 59
              ? 'second'
              : undefined;
  if (rangeError !== undefined) return `parsing time ${JSON.stringify(value)}: ${rangeError} out of range`;
  const fraction = value.slice(19);
  if (!/^[.,]\d{6}/.test(fraction)) return `${prefix}: cannot parse ${JSON.stringify(fraction)} as ".000000"`;
  const zone = fraction.slice(7);
  const zoneMatch = /^(Z|[+-]\d{2}:\d{2})/.exec(zone);
  if (zoneMatch === null) return `${prefix}: cannot parse ${JSON.stringify(zone)} as "Z07:00"`;
  const extra = zone.slice(zoneMatch[0].length);
  if (extra !== '') return `parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(extra)}`;
  return undefined;
}

/** A valid MicroTime re-encoded as the apiserver stores it: UTC, six digits (`MicroTime.MarshalJSON`). */
function normalizeMicroTime(value: string): string {
  const fractionDigits = value.slice(20, 26);
  const wholeSecondsMs = Date.parse(`${value.slice(0, 19)}${value.slice(26)}`);
  return `${new Date(wholeSecondsMs).toISOString().slice(0, 19)}.${fractionDigits}Z`;
}

/** The 400 for a body that is JSON but does not decode into a Lease (handlers `transformDecodeError`). */
function cannotHandle(why: string): KubeStatus {
  return badRequestStatus(`Lease in version "v1" cannot be handled as a Lease: ${why}`);
}

/** Decodes a request body into a Lease the way the apiserver's JSON decoder would, or the 400 it gives. */
function decodeLease(body: Buffer): KubeObject | KubeStatus {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const summary = text.length > 30 ? `${text.slice(0, 30)} ...` : text === '' ? '<empty>' : text;
    const reason = error instanceof Error ? error.message : String(error);
    return badRequestStatus(
      `the object provided is unrecognized (must be of type Lease): couldn't get version/kind; json parse error: ${reason} (${summary})`,
    );
  }
  if (!isJsonObject(parsed)) return cannotHandle('json: cannot unmarshal non-object into Go value of type v1.Lease');
  const kind = parsed['kind'];
  if (kind !== undefined && kind !== 'Lease') {
    return badRequestStatus(
      `${typeof kind === 'string' ? kind : JSON.stringify(kind)} in version "v1" cannot be handled as a Lease: wrong kind`,
    );
  }
  const metadata = parsed['metadata'] ?? {};
  if (!isJsonObject(metadata))
    return cannotHandle('json: cannot unmarshal metadata into Go struct field Lease.metadata of type v1.ObjectMeta');
  const spec = parsed['spec'] ?? {};
  if (!isJsonObject(spec))
    return cannotHandle('json: cannot unmarshal spec into Go struct field Lease.spec of type v1.LeaseSpec');
  for (const field of ['acquireTime', 'renewTime']) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string')
      return cannotHandle(`json: cannot unmarshal ${typeof value} into Go value of type string`);
    const parseError = microTimeParseError(value);
    if (parseError !== undefined) return cannotHandle(parseError);
    spec[field] = normalizeMicroTime(value);
  }
  for (const field of ['leaseDurationSeconds', 'leaseTransitions']) {
    const value = spec[field];
    if (value !== undefined && value !== null && !Number.isInteger(value)) {
      return cannotHandle(
        `json: cannot unmarshal ${typeof value} into Go struct field LeaseSpec.spec.${field} of type int32`,
      );
    }
  }
  return { ...parsed, metadata, spec };
}

function isStatus(value: KubeObject | KubeStatus): value is KubeStatus {
  return value.kind === 'Status' && 'status' in value && 'code' in value;
}

/** `ValidateLease`: the errors strategy validation reports, for a create or an update. */
function validateLease(lease: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const name = lease.metadata.name ?? '';
  if (name === '') errors.push(requiredField('metadata.name', 'name or generateName is required'));
  else if (!dnsSubdomainPattern.test(name) || name.length > 253) {
    errors.push(
      invalidField(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
  const spec = lease['spec'] as Record<string, unknown>;
  const duration = spec['leaseDurationSeconds'];
  if (typeof duration === 'number' && duration <= 0) {
    errors.push(invalidField('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec['leaseTransitions'];
  if (typeof transitions === 'number' && transitions < 0) {
    errors.push(invalidField('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
  return errors;
}

/** The Lease objects of all namespaces, keyed `namespace/name`. */
export class LeaseStore {
  private readonly leasesByKey = new Map<string, KubeObject>();

  constructor(private readonly revisions: RevisionCounter) {}

  /** A copy of a stored lease, or undefined. */
  get(namespace: string, name: string): KubeObject | undefined {
    const lease = this.leasesByKey.get(`${namespace}/${name}`);
    return lease === undefined ? undefined : cloneJson(lease);
  }

  /** GET of the namespace's collection. */
  list(namespace: string): ApiReply {
    const items = [...this.leasesByKey.values()]
      .filter((lease) => lease.metadata.namespace === namespace)
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
      .map(withoutTypeMeta);
    const metadata = { resourceVersion: String(this.revisions.current()) };
    return { status: 200, body: { kind: 'LeaseList', apiVersion: leaseApiVersion, metadata, items } };
  }

  /** GET of one lease. */
  read(namespace: string, name: string): ApiReply {
    const lease = this.leasesByKey.get(`${namespace}/${name}`);
    return lease === undefined ? fail(notFoundStatus(leases, name)) : { status: 200, body: lease };
  }

  /** POST to the collection. */
  create(namespace: string, body: Buffer): ApiReply {
    const decoded = decodeLease(body);
    if (isStatus(decoded)) return fail(decoded);
    const lease = decoded;
    if (
      lease.metadata.namespace !== undefined &&
      lease.metadata.namespace !== '' &&
      lease.metadata.namespace !== namespace
    ) {
      return fail(
        badRequestStatus('the namespace of the provided object does not match the namespace sent on the request'),
      );
    }
    return this.insert(namespace, lease);
  }

  /** PUT of one lease: replace with optimistic concurrency, or create when missing. */
  replace(namespace: string, name: string, body: Buffer): ApiReply {
    const decoded = decodeLease(body);
    if (isStatus(decoded)) return fail(decoded);
    const lease = decoded;
    const objectName = lease.metadata.name ?? '';
    if (objectName !== name) {
      return fail(
        badRequestStatus(`the name of the object (${objectName}) does not match the name on the URL (${name})`),
      );
    }
    const objectNamespace = lease.metadata.namespace ?? '';
    if (objectNamespace !== '' && objectNamespace !== namespace) {
      return fail(
        badRequestStatus(
          `the namespace of the object (${objectNamespace}) does not match the namespace on the request (${namespace})`,
        ),
      );
    }
    const existing = this.leasesByKey.get(`${namespace}/${name}`);
    if (existing === undefined) return this.insert(namespace, lease);
    const sentVersion = lease.metadata.resourceVersion ?? '';
    if (sentVersion === '' || sentVersion === '0') {
      const error = {
        field: 'metadata.resourceVersion',
        reason: 'FieldValueInvalid',
        body: 'Invalid value: 0x0: must be specified for an update',
      } as const;
      return fail(invalidStatus(leases.group, leases.resource, name, [error]));
    }
    if (sentVersion !== existing.metadata.resourceVersion) return fail(conflictStatus(leases, name));
    // BeforeUpdate keeps the stored uid when none is sent and the creation time whatever is sent.
    const storedUid = existing.metadata.uid ?? '';
    const uid = lease.metadata.uid ?? storedUid;
    const errors = validateLease(lease);
    if (uid !== storedUid) errors.push(invalidField('metadata.uid', uid, 'field is immutable'));
    if (errors.length > 0) return fail(invalidStatus(leases.group, 'Lease', name, errors));
    const creationTimestamp = existing.metadata.creationTimestamp ?? '';
    const metadata = { ...lease.metadata, namespace, uid, creationTimestamp };
    return { status: 200, body: this.store(namespace, { ...lease, metadata }) };
  }

  /** DELETE of one lease, honouring `preconditions` in a DeleteOptions body. */
  delete(namespace: string, name: string, body: Buffer): ApiReply {
    const existing = this.leasesByKey.get(`${namespace}/${name}`);
    if (existing === undefined) return fail(notFoundStatus(leases, name));
    let options: unknown = {};
    if (body.length > 0) {
      try {
        options = JSON.parse(body.toString('utf8'));
      } catch (error) {
        return fail(badRequestStatus(`the body of the request was in an unknown format: ${String(error)}`));
      }
    }
    const preconditions =
      isJsonObject(options) && isJsonObject(options['preconditions']) ? options['preconditions'] : {};
    const wantedVersion = preconditions['resourceVersion'];
    if (typeof wantedVersion === 'string' && wantedVersion !== existing.metadata.resourceVersion) {
      const why = `Precondition failed: ResourceVersion in precondition: ${wantedVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`;
      return fail(conflictStatus(leases, name, why));
    }
    const wantedUid = preconditions['uid'];
    if (typeof wantedUid === 'string' && wantedUid !== existing.metadata.uid) {
      const why = `Precondition failed: UID in precondition: ${wantedUid}, UID in object meta: ${existing.metadata.uid ?? ''}`;
      return fail(conflictStatus(leases, name, why));
    }
    this.leasesByKey.delete(`${namespace}/${name}`);
    this.revisions.next();
    const details = { name, group: leases.group, kind: leases.resource, uid: existing.metadata.uid };
    return { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details } };
  }

  private insert(namespace: string, lease: KubeObject): ApiReply {
    const errors = validateLease(lease);
    const name = lease.metadata.name ?? '';
    if (errors.length > 0) return fail(invalidStatus(leases.group, 'Lease', name, errors));
    if (this.leasesByKey.has(`${namespace}/${name}`)) return fail(alreadyExistsStatus(leases, name));
    const metadata = { ...lease.metadata, namespace, uid: randomUUID(), creationTimestamp: rfc3339Seconds(new Date()) };
    return { status: 201, body: this.store(namespace, { ...lease, metadata }) };
  }

  private store(namespace: string, lease: KubeObject): KubeObject {
    const stored = withTypeMeta(cloneJson(lease), 'Lease', leaseApiVersion);
    stored.metadata.resourceVersion = String(this.revisions.next());
    this.leasesByKey.set(`${namespace}/${stored.metadata.name ?? ''}`, stored);
    return stored;
  }
}
