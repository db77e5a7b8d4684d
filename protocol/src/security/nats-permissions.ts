import { isSubjectToken, SESSION_KV_BUCKET, SESSION_LOG_STREAM, SUBJECT_PREFIX } from '../subjects.js';

/**
 * Who connects to NATS, as the server's authorization knows them. Each identity gets exactly the
 * subjects its role needs, so the server itself refuses what the role must not do: an agent can
 * speak only as its own nodes, a client only as its tenant; each reads only its own inbox.
 */
export type NatsIdentity =
  | { readonly role: 'scheduler'; readonly user: string }
  | { readonly role: 'agent'; readonly user: string; readonly nodeIds: readonly string[] | typeof ANY_NODE }
  | { readonly role: 'client'; readonly user: string; readonly tenant: string }
  | { readonly role: 'operator'; readonly user: string };

export type NatsRole = NatsIdentity['role'];

/**
 * The node ids of an agent identity shared by a pool whose nodes are not known ahead (a DaemonSet
 * on an autoscaled node group). The server still holds it to agent subjects, but no longer to one
 * node's: any agent holding it may speak for every node of every pool, and read every tenant's
 * session turns. List node ids wherever they are known.
 */
export const ANY_NODE = 'any-node';

/** A nats-server `permissions` block. */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
  /** Lets the identity answer requests it received (to their reply subject only, once). */
  readonly allowResponses: boolean;
}

/** An identity or permission that cannot be expressed safely (a user or id that is not a subject token). */
export class NatsIdentityError extends Error {
  readonly code = 'NATS_IDENTITY';
  override readonly name = 'NatsIdentityError';
}

function token(kind: string, value: string): string {
  if (!isSubjectToken(value)) {
    throw new NatsIdentityError(`${kind} ${JSON.stringify(value)} is not a subject token ([A-Za-z0-9_-], 1-64)`);
  }
  return value;
}

/**
 * Where an identity's request replies arrive (nats.js `inboxPrefix`). One prefix per identity, so a
 * client can subscribe to its own replies and nobody else's: never the shared `_INBOX.>`.
 */
export function inboxPrefixOf(identity: NatsIdentity): string {
  const user = token('user', identity.user);
  switch (identity.role) {
    case 'scheduler':
      return `_INBOX.sched.${user}`;
    case 'agent':
      return `_INBOX.agent.${user}`;
    case 'client':
      return `_INBOX.tenant.${token('tenant', identity.tenant)}.${user}`;
    default:
      return `_INBOX.op.${user}`;
  }
}

const P = SUBJECT_PREFIX;
const JS = '$JS.API';

/**
 * What each role may publish and subscribe to. The subject layout (subjects.ts) carries the node id
 * in everything an agent sends or receives and the tenant in everything a client sends, so these
 * lists are the whole identity check: the scheduler never has to trust a body's nodeId or tenant.
 */
export function permissionsOf(identity: NatsIdentity): NatsPermissions {
  const inbox = `${inboxPrefixOf(identity)}.>`;
  switch (identity.role) {
    case 'scheduler':
      return {
        publish: { allow: [`${P}.>`, '_INBOX.>', `${JS}.>`, '$KV.>', '$JS.ACK.>'] },
        subscribe: {
          allow: [`${P}.agent.*.*`, `${P}.tenant.>`, `${P}.admin.>`, `${P}.batch.>`, inbox],
        },
        allowResponses: true,
      };
    case 'agent': {
      if (identity.nodeIds.length === 0) throw new NatsIdentityError(`agent ${identity.user} hosts no node`);
      const nodes = identity.nodeIds === ANY_NODE ? ['*'] : identity.nodeIds.map((id) => token('node id', id));
      return {
        publish: {
          allow: [
            ...nodes.map((id) => `${P}.agent.${id}.*`),
            // Answers go straight to clients' inboxes (the scheduler forwards their reply subject),
            // and to the scheduler's for the work it places itself (batch items).
            '_INBOX.tenant.>',
            '_INBOX.sched.>',
            // The durable turn log of the sessions it hosts, and reading it back to restore one.
            `${P}.log.session.*`,
            `${JS}.INFO`,
            `${JS}.STREAM.INFO.${SESSION_LOG_STREAM}`,
            `${JS}.DIRECT.GET.${SESSION_LOG_STREAM}`,
            `${JS}.DIRECT.GET.${SESSION_LOG_STREAM}.>`,
            // Session ownership: read-only.
            `${JS}.STREAM.INFO.KV_${SESSION_KV_BUCKET}`,
            `${JS}.DIRECT.GET.KV_${SESSION_KV_BUCKET}.>`,
            `${JS}.STREAM.MSG.GET.KV_${SESSION_KV_BUCKET}`,
          ],
        },
        subscribe: {
          allow: [
            ...nodes.map((id) => `${P}.node.${id}.>`),
            ...nodes.map((id) => `${P}.tenant.*.session.*.turn.${id}`),
            inbox,
          ],
        },
        allowResponses: true,
      };
    }
    case 'client': {
      const tenant = token('tenant', identity.tenant);
      return {
        publish: { allow: [`${P}.tenant.${tenant}.>`, `${P}.node.*.cancel.${tenant}`] },
        subscribe: { allow: [inbox] },
        allowResponses: false,
      };
    }
    default:
      return {
        // The admin subjects, and reading session logs back (an audit of what every turn did).
        publish: {
          allow: [
            `${P}.admin.>`,
            `${JS}.INFO`,
            `${JS}.STREAM.INFO.${SESSION_LOG_STREAM}`,
            `${JS}.DIRECT.GET.${SESSION_LOG_STREAM}`,
            `${JS}.DIRECT.GET.${SESSION_LOG_STREAM}.>`,
          ],
        },
        subscribe: { allow: [inbox] },
        allowResponses: false,
      };
  }
}
