/** The JSON shape of Kubernetes objects as the fake API server stores and sends them. */

/** `metav1.ObjectMeta`, the fields the fake server reads or sets; anything else is kept as sent. */
export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

/** A Kubernetes object in its JSON wire form. */
export interface KubeObject {
  kind?: string;
  apiVersion?: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

/** The global revision counter all stores share, like etcd's: every write takes `next()`. */
export interface RevisionCounter {
  current(): number;
  next(): number;
}

/** Whether a parsed JSON value is a non-array object. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep copy through JSON, so that what is stored is exactly what a client could have sent: Dates become
 * RFC 3339 strings and `undefined` fields vanish, as on the wire.
 */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The object with `kind` and `apiVersion` first, as the apiserver serializes TypeMeta before the rest. */
export function withTypeMeta(object: KubeObject, kind: string, apiVersion: string): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return { kind, apiVersion, ...rest };
}

/** The object without `kind`/`apiVersion`: list items on the wire carry none (kubernetes/kubernetes#3030). */
export function withoutTypeMeta(object: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}

/** `metav1.Time` is RFC 3339 with whole seconds (`2006-01-02T15:04:05Z`). */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
