/**
 * `metav1.Status` objects exactly as the Kubernetes apiserver writes them, for the fake API server.
 *
 * Field order and texts follow apimachinery `pkg/api/errors/errors.go` (NewNotFound, NewAlreadyExists,
 * NewConflict, NewInvalid, NewBadRequest, NewMethodNotSupported, NewRequestEntityTooLargeError,
 * NewResourceExpired) and the "API conventions" document
 * (github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md,
 * "Response Status Kind"): `details.kind` holds the RESOURCE ("leases"), not the Kind, for the
 * resource-qualified errors, and the message qualifies it with its group (`leases.coordination.k8s.io "x" not found`).
 */

/** One reason an object failed validation (`metav1.StatusCause`; Go's `Type` is `reason` on the wire). */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** `metav1.StatusDetails`. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A `metav1.Status` as serialized by the apiserver (`code` is 0 and omitted on a Success). */
export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code?: number;
}

/** A resource in an API group: `{ group: 'coordination.k8s.io', resource: 'leases' }` (core group: ''). */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/** The `metav1.StatusReason` the apiserver uses for each HTTP code (`errors.NewGenericServerResponse`). */
const reasonByCode: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The StatusReason for an HTTP code; undefined (omitted, Go's StatusReasonUnknown) for codes it has none for. */
export function statusReasonForCode(code: number): string | undefined {
  return reasonByCode[code];
}

/** A Failure Status; fields in the apiserver's order (kind, apiVersion, metadata, status, message, reason, details, code). */
export function failureStatus(
  code: number,
  reason: string | undefined,
  message: string,
  details?: StatusDetails,
): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason === undefined ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    code,
  };
}

/** `leases.coordination.k8s.io`, or plain `nodes` for the core group. */
export function qualifiedResource(resource: GroupResource): string {
  return resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`;
}

function resourceDetails(resource: GroupResource, name: string): StatusDetails {
  return { name, ...(resource.group === '' ? {} : { group: resource.group }), kind: resource.resource };
}

/** 404 for a named object that does not exist. */
export function notFoundStatus(resource: GroupResource, name: string): KubeStatus {
  const message = `${qualifiedResource(resource)} ${JSON.stringify(name)} not found`;
  return failureStatus(404, 'NotFound', message, resourceDetails(resource, name));
}

/** 409 for a create whose name is taken. */
export function alreadyExistsStatus(resource: GroupResource, name: string): KubeStatus {
  const message = `${qualifiedResource(resource)} ${JSON.stringify(name)} already exists`;
  return failureStatus(409, 'AlreadyExists', message, resourceDetails(resource, name));
}

/** The apiserver's `OptimisticLockErrorMsg` (registry/generic/registry/store.go). */
export const optimisticLockMessage =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 409 for a write based on a stale resourceVersion (or a failed precondition). */
export function conflictStatus(resource: GroupResource, name: string, why: string = optimisticLockMessage): KubeStatus {
  const message = `Operation cannot be fulfilled on ${qualifiedResource(resource)} ${JSON.stringify(name)}: ${why}`;
  return failureStatus(409, 'Conflict', message, resourceDetails(resource, name));
}

/** One field error as `field.Error` renders it: `ErrorBody()` is the message without the field path. */
export interface FieldError {
  readonly field: string;
  readonly reason: 'FieldValueInvalid' | 'FieldValueRequired';
  /** e.g. `Invalid value: 0: must be greater than 0`. */
  readonly body: string;
}

/** A `field.Invalid` error; Go renders the value with %#v, so strings are quoted and numbers are not. */
export function invalidField(field: string, value: unknown, detail: string): FieldError {
  const rendered = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return { field, reason: 'FieldValueInvalid', body: `Invalid value: ${rendered}: ${detail}` };
}

/** A `field.Required` error. */
export function requiredField(field: string, detail: string): FieldError {
  return { field, reason: 'FieldValueRequired', body: `Required value: ${detail}` };
}

/**
 * 422 Invalid. `group`/`kind` are what the caller of `NewInvalid` passed: the Kind ("Lease") for strategy
 * validation, the resource ("leases") for the store's "must be specified for an update" check.
 */
export function invalidStatus(group: string, kind: string, name: string, errors: readonly FieldError[]): KubeStatus {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const rendered = errors.map((error) => `${error.field}: ${error.body}`);
  const aggregate = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const message = `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${aggregate}`;
  const causes = errors.map((error) => ({ reason: error.reason, message: error.body, field: error.field }));
  return failureStatus(422, 'Invalid', message, { name, group, kind, causes });
}

/** 400 BadRequest (no details, as `errors.NewBadRequest`). */
export function badRequestStatus(message: string): KubeStatus {
  return failureStatus(400, 'BadRequest', message);
}

/** What the apiserver answers for a path it serves no resource at. */
export function pathNotFoundStatus(): KubeStatus {
  return failureStatus(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** What the apiserver answers for a verb the resource does not support. */
export function methodNotAllowedStatus(): KubeStatus {
  return failureStatus(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

/** 401 for a missing or wrong bearer token (the authentication filter's exact body). */
export function unauthorizedStatus(): KubeStatus {
  return failureStatus(401, 'Unauthorized', 'Unauthorized');
}

/** 413 for a body over `limitBytes` (the apiserver's limit is 3 MiB). */
export function requestEntityTooLargeStatus(limitBytes: number): KubeStatus {
  return failureStatus(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

/** 410 Expired, sent as the single ERROR event of a watch that asked for history no longer kept. */
export function resourceExpiredStatus(requestedVersion: number, oldestKeptVersion: number): KubeStatus {
  return failureStatus(410, 'Expired', `too old resource version: ${requestedVersion} (${oldestKeptVersion})`);
}

/** 504 for a watch from a resourceVersion the server has not reached (storage.NewTooLargeResourceVersionError). */
export function tooLargeResourceVersionStatus(requestedVersion: number, currentVersion: number): KubeStatus {
  return failureStatus(504, 'Timeout', `Too large resource version: ${requestedVersion}, current: ${currentVersion}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** A failure injected by `failNext`: the apiserver's reason for the code, and a message that says it was injected. */
export function injectedFailureStatus(code: number): KubeStatus {
  const reason = statusReasonForCode(code);
  if (code === 429) {
    return failureStatus(code, reason, 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
  }
  if (code === 500) {
    const cause = 'injected by failNext';
    return failureStatus(code, reason, `Internal error occurred: ${cause}`, { causes: [{ message: cause }] });
  }
  return failureStatus(code, reason, `${reason ?? 'Failure'} (injected by failNext)`);
}
