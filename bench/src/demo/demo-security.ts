import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  decode,
  encode,
  InferReply,
  PROTOCOL_VERSION,
  SessionClient,
  subjects,
  type TenantQuotasConfig,
} from '@switchyard/protocol';
import { DEFAULT_TENANT_LIMITS } from '@switchyard/scheduler';
import { DEMO_CLIENTS, type DemoClient } from './demo-auth.js';

/** The demo's small tenant: a free trial held to one request a second with a burst of two. */
export const TRIAL_TENANT = DEMO_CLIENTS.trial.tenant;
export const DEMO_TENANT_QUOTAS: TenantQuotasConfig = {
  defaults: { ...DEFAULT_TENANT_LIMITS },
  tenants: { [TRIAL_TENANT]: { requestsPerSecond: 1, burstRequests: 2, maxSessions: 1 } },
};

/** Writes the quota file the demo's schedulers read (`--tenant-quotas`). */
export async function writeDemoQuotas(dir: string): Promise<string> {
  const file = join(dir, 'tenant-quotas.json');
  await writeFile(file, JSON.stringify(DEMO_TENANT_QUOTAS, null, 2));
  return file;
}

function reasonOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 120);
}

/**
 * What the server and the scheduler refuse, shown on the live fleet: a connection without
 * credentials, one tenant reaching for another's sessions, and a tenant past its request rate.
 * Each line says what happened, not what should: a probe that got through says so.
 */
export async function showSecurity(
  natsUrl: string,
  connectClient: (who: DemoClient) => Promise<NatsConnection>,
  model: string,
): Promise<string[]> {
  const lines: string[] = [];
  try {
    const intruder = await connect({ servers: natsUrl, reconnect: false, name: 'demo-intruder' });
    await intruder.close();
    lines.push('✖ security: a connection without credentials was ACCEPTED');
  } catch (err) {
    lines.push(
      /authorization/i.test(reasonOf(err))
        ? `▸ security: a connection without credentials is refused by nats-server (${reasonOf(err)})`
        : `✖ security: a connection without credentials failed for another reason: ${reasonOf(err)}`,
    );
  }
  const nosy = new SessionClient(await connectClient('cpu'), {
    tenant: DEMO_CLIENTS.sessions.tenant,
    requestTimeoutMs: 3000,
  });
  const askedAtMs = Date.now();
  try {
    const listed = await nosy.list();
    lines.push(`✖ security: tenant ${DEMO_CLIENTS.cpu.tenant} READ ${listed.total} sessions of another tenant`);
  } catch (err) {
    lines.push(
      /permissions violation/i.test(reasonOf(err))
        ? `▸ security: tenant ${DEMO_CLIENTS.cpu.tenant} asking for the sessions of tenant ${DEMO_CLIENTS.sessions.tenant} ` +
            `is refused by the server in ${Date.now() - askedAtMs} ms (${reasonOf(err)})`
        : `✖ security: tenant ${DEMO_CLIENTS.cpu.tenant}'s probe of another tenant failed for another reason: ${reasonOf(err)}`,
    );
  }
  const trial = await connectClient('trial');
  const body = encode({ v: PROTOCOL_VERSION, model, inputTokens: 64, maxOutputTokens: 4 });
  // Settled, not all: a request that goes unanswered is reported, never fatal to the demo.
  const replies = (
    await Promise.allSettled(
      Array.from({ length: 4 }, () => trial.request(subjects.infer(TRIAL_TENANT), body, { timeout: 15_000 })),
    )
  ).map((outcome) => {
    if (outcome.status === 'rejected') return undefined;
    const decoded = decode(InferReply, outcome.value.data);
    return decoded.ok ? decoded.value : undefined;
  });
  const answered = replies.filter((reply) => reply?.ok === true).length;
  const limited = replies.flatMap((reply) =>
    reply?.ok === false && reply.error.code === 'RATE_LIMITED' ? [reply.error] : [],
  );
  const quota = DEMO_TENANT_QUOTAS.tenants?.[TRIAL_TENANT];
  lines.push(
    `▸ quotas: tenant ${TRIAL_TENANT} (${quota?.requestsPerSecond} req/s, burst ${quota?.burstRequests}) sent 4 requests at once: ` +
      `${answered} answered, ${limited.length} RATE_LIMITED` +
      (answered + limited.length < replies.length ? `, ${replies.length - answered - limited.length} otherwise` : '') +
      (limited[0]?.retryAfterMs === undefined ? '' : ` (retry after ${limited[0].retryAfterMs} ms)`),
  );
  return lines;
}
