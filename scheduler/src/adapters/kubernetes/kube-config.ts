import { existsSync, readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';

/** `auto`: use the API when running in a cluster (or given a kubeconfig); `on`: require it; `off`: never. */
export type KubernetesMode = 'auto' | 'on' | 'off';

/** Where a pod finds its service-account credentials (the kubelet mounts them there). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The integration was asked for but cannot be set up; the message says what is missing. */
export class KubernetesConfigError extends Error {
  readonly code = 'KUBERNETES_CONFIG';
  override readonly name = 'KubernetesConfigError';
}

/** Whether this process runs in a Kubernetes pod with a service account. */
export function inCluster(env: NodeJS.ProcessEnv = process.env, serviceAccountDir = SERVICE_ACCOUNT_DIR): boolean {
  return (
    env['KUBERNETES_SERVICE_HOST'] !== undefined &&
    env['KUBERNETES_SERVICE_PORT'] !== undefined &&
    existsSync(`${serviceAccountDir}/token`)
  );
}

/**
 * The API client configuration for a mode: a kubeconfig file when one is given, the pod's service
 * account in a cluster, and (mode `on` only) the usual `$KUBECONFIG` / `~/.kube/config` lookup.
 * Undefined when the integration is off. The client library (a second to load) is loaded only when
 * the integration is on.
 */
export async function kubeConfigFor(
  mode: KubernetesMode,
  kubeconfigPath?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KubeConfig | undefined> {
  if (mode === 'off') return undefined;
  if (kubeconfigPath === undefined && !inCluster(env) && mode === 'auto') return undefined;
  if (kubeconfigPath !== undefined && !existsSync(kubeconfigPath)) {
    throw new KubernetesConfigError(`kubeconfig ${kubeconfigPath} does not exist`);
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  if (kubeconfigPath !== undefined) {
    try {
      config.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new KubernetesConfigError(
        `kubeconfig ${kubeconfigPath} cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  } else if (inCluster(env)) {
    config.loadFromCluster();
  } else {
    config.loadFromDefault();
  }
  if (config.getCurrentCluster() === null) {
    throw new KubernetesConfigError(
      'the Kubernetes integration is on but no cluster is configured (not in a pod, and no kubeconfig names a current cluster)',
    );
  }
  return config;
}

/** The namespace this pod runs in (its service account says), or undefined outside a pod. */
export function podNamespace(serviceAccountDir = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    const namespace = readFileSync(`${serviceAccountDir}/namespace`, 'utf8').trim();
    return namespace === '' ? undefined : namespace;
  } catch {
    return undefined;
  }
}
