import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ClusterBudgetResponse,
  decode,
  encode,
  type StatusReply,
  StatusResponse,
  subjects,
} from '@switchyard/protocol';
import type { TraceRequest } from '../workload/azure-trace.js';

/** Cuts a cluster's power budget through the admin subject; returns the applied budget or an error text. */
export async function cutBudget(nc: NatsConnection, cluster: string, budgetWatts: number): Promise<string | undefined> {
  try {
    const reply = await nc.request(subjects.adminPowerBudget, encode({ v: 1, cluster, budgetWatts }), {
      timeout: 2000,
    });
    const decoded = decode(ClusterBudgetResponse, reply.data);
    if (!decoded.ok) return decoded.error.message;
    return decoded.value.ok ? undefined : `${decoded.value.error.code}: ${decoded.value.error.message}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Where the shared Azure conversation trace lives next to a checkout, if it does. */
export function defaultTracePath(repoRoot: string): string | undefined {
  const candidate = resolve(repoRoot, '..', 'shared', 'traces', 'azure-llm-2023-conv.csv');
  return existsSync(candidate) ? candidate : undefined;
}

/** Token sizes when no trace is at hand: log-normal around the Azure conversation trace's medians. */
export function syntheticSizes(seedRng: () => number): TraceRequest[] {
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - seedRng())) * Math.cos(2 * Math.PI * seedRng());
  return Array.from({ length: 2000 }, (_, i) => ({
    arrivalMs: i,
    inputTokens: Math.round(Math.exp(6.8 + 0.9 * normal())),
    outputTokens: Math.round(Math.exp(5.2 + 0.8 * normal())),
  }));
}

export async function fetchStatus(nc: NatsConnection): Promise<StatusReply | undefined> {
  try {
    const reply = await nc.request(subjects.adminStatus, encode({ v: 1, nodeLimit: 1000 }), { timeout: 2000 });
    const decoded = decode(StatusResponse, reply.data);
    return decoded.ok && decoded.value.ok ? decoded.value : undefined;
  } catch {
    return undefined;
  }
}
