/**
 * Subject layout, protocol v1. Whatever an agent publishes or receives carries its node id, and
 * whatever a client sends carries its tenant, so nats-server permissions can enforce identity.
 *
 *   sy.v1.agent.<nodeId>.register    agent → scheduler   request/reply
 *   sy.v1.agent.<nodeId>.heartbeat   agent → scheduler   publish
 *   sy.v1.agent.<nodeId>.result      agent → scheduler   publish (work finished: release capacity)
 *   sy.v1.agent.<nodeId>.deregister  agent → scheduler   publish (graceful shutdown)
 *   sy.v1.node.<nodeId>.assign       scheduler → agent   request/reply (ack confirms the placement)
 *   sy.v1.node.<nodeId>.notice       scheduler → agent   publish (e.g. "register again")
 *   sy.v1.tenant.<tenant>.infer      client → scheduler  request; the reply comes from the agent
 *   sy.v1.admin.status               operator → scheduler request/reply
 *   sy.v1.admin.node.<verb>          operator → scheduler request/reply (cordon, uncordon, drain)
 *   sy.v1.admin.explain              operator → scheduler request/reply (how a request would be placed)
 *   sy.v1.admin.power.budget         operator → scheduler request/reply (change a cluster's power budget)
 *   sy.v1.admin.latency              probe → scheduler    request/reply (measured region→cluster round trips)
 *   sy.v1.node.<nodeId>.power        scheduler → agent   request/reply (set the node's power limit)
 *   sy.v1.node.<nodeId>.cancel.<tenant>  client → agent  request/reply (stop a streamed request of that tenant)
 *
 * Sessions:
 *   sy.v1.tenant.<tenant>.session.<verb>            client → scheduler  request/reply (open, get, list, close)
 *   sy.v1.tenant.<tenant>.session.<sessionId>.turn.<nodeId>  client → owner node  request/reply (the owner's own subject)
 *   sy.v1.node.<nodeId>.session.<verb>              scheduler → agent   request/reply (adopt, release)
 *   sy.v1.log.session.<sessionId>                   agent → JetStream   the durable turn log
 */
export const SUBJECT_PREFIX = 'sy.v1';

/** A subject token we put ids into: no dots, wildcards, whitespace or control characters. */
export const SUBJECT_TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Whether `token` can be embedded in a subject as one token. */
export function isSubjectToken(token: string): boolean {
  return SUBJECT_TOKEN_PATTERN.test(token);
}

function checkedToken(kind: string, value: string): string {
  if (!isSubjectToken(value)) throw new TypeError(`${kind} ${JSON.stringify(value)} is not a valid subject token`);
  return value;
}

export const ADMIN_VERBS = ['cordon', 'uncordon', 'drain'] as const;
export type AdminVerb = (typeof ADMIN_VERBS)[number];

export const SESSION_VERBS = ['open', 'get', 'list', 'close'] as const;
export type SessionVerb = (typeof SESSION_VERBS)[number];
export const NODE_SESSION_VERBS = ['adopt', 'release'] as const;
export type NodeSessionVerb = (typeof NODE_SESSION_VERBS)[number];

export const BATCH_VERBS = ['submit', 'status', 'results'] as const;
export type BatchVerb = (typeof BATCH_VERBS)[number];
/** JetStream work queue of batch items, and the stream of their results; KV bucket of batch records. */
export const BATCH_WORK_STREAM = 'SY_BATCH_WORK';
export const BATCH_RESULTS_STREAM = 'SY_BATCH_RESULTS';
export const BATCH_KV_BUCKET = 'sy_batches';

/** JetStream stream holding every session's turn log, one subject per session. */
export const SESSION_LOG_STREAM = 'SY_SESSION_LOG';
/** KV bucket of session ownership records (key: session id), written only by revision compare-and-set. */
export const SESSION_KV_BUCKET = 'sy_sessions';

export const subjects = {
  register: (nodeId: string) => `${SUBJECT_PREFIX}.agent.${checkedToken('node id', nodeId)}.register`,
  heartbeat: (nodeId: string) => `${SUBJECT_PREFIX}.agent.${checkedToken('node id', nodeId)}.heartbeat`,
  result: (nodeId: string) => `${SUBJECT_PREFIX}.agent.${checkedToken('node id', nodeId)}.result`,
  deregister: (nodeId: string) => `${SUBJECT_PREFIX}.agent.${checkedToken('node id', nodeId)}.deregister`,
  assign: (nodeId: string) => `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.assign`,
  notice: (nodeId: string) => `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.notice`,
  infer: (tenant: string) => `${SUBJECT_PREFIX}.tenant.${checkedToken('tenant', tenant)}.infer`,
  adminStatus: `${SUBJECT_PREFIX}.admin.status`,
  adminNode: (verb: AdminVerb) => `${SUBJECT_PREFIX}.admin.node.${verb}`,
  adminExplain: `${SUBJECT_PREFIX}.admin.explain`,
  adminPowerBudget: `${SUBJECT_PREFIX}.admin.power.budget`,
  adminLatency: `${SUBJECT_PREFIX}.admin.latency`,
  nodePower: (nodeId: string) => `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.power`,
  nodeCancel: (nodeId: string, tenant: string) =>
    `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.cancel.${checkedToken('tenant', tenant)}`,
  /** What an agent subscribes to for cancels: any tenant's, each checked against the request's tenant. */
  nodeCancelAnyTenant: (nodeId: string) => `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.cancel.*`,
  session: (tenant: string, verb: SessionVerb) =>
    `${SUBJECT_PREFIX}.tenant.${checkedToken('tenant', tenant)}.session.${verb}`,
  /** The base a session's turn subjects share (SessionInfo.turnSubject); a turn goes to `<base>.<owner node id>`. */
  sessionTurnBase: (tenant: string, sessionId: string) =>
    `${SUBJECT_PREFIX}.tenant.${checkedToken('tenant', tenant)}.session.${checkedToken('session id', sessionId)}.turn`,
  /**
   * Where a turn goes: the owner's own subject, so that nats-server can let an agent subscribe only
   * to the sessions it hosts. After a move the old owner no longer listens: the client asks again.
   */
  sessionTurn: (tenant: string, sessionId: string, ownerNodeId: string) =>
    `${SUBJECT_PREFIX}.tenant.${checkedToken('tenant', tenant)}.session.${checkedToken('session id', sessionId)}.turn.${checkedToken('node id', ownerNodeId)}`,
  nodeSession: (nodeId: string, verb: NodeSessionVerb) =>
    `${SUBJECT_PREFIX}.node.${checkedToken('node id', nodeId)}.session.${verb}`,
  sessionLog: (sessionId: string) => `${SUBJECT_PREFIX}.log.session.${checkedToken('session id', sessionId)}`,
  anySessionVerb: `${SUBJECT_PREFIX}.tenant.*.session.*`,
  batch: (tenant: string, verb: BatchVerb) =>
    `${SUBJECT_PREFIX}.tenant.${checkedToken('tenant', tenant)}.batch.${verb}`,
  anyBatchVerb: `${SUBJECT_PREFIX}.tenant.*.batch.*`,
  batchWork: (batchId: string) => `${SUBJECT_PREFIX}.batch.work.${checkedToken('batch id', batchId)}`,
  anyBatchWork: `${SUBJECT_PREFIX}.batch.work.*`,
  batchResult: (batchId: string, index: number) =>
    `${SUBJECT_PREFIX}.batch.result.${checkedToken('batch id', batchId)}.${Math.trunc(index)}`,
  batchResults: (batchId: string) => `${SUBJECT_PREFIX}.batch.result.${checkedToken('batch id', batchId)}.*`,
  anyBatchResult: `${SUBJECT_PREFIX}.batch.result.*.*`,
  anySessionLog: `${SUBJECT_PREFIX}.log.session.*`,

  /** Wildcards the scheduler subscribes to. */
  anyRegister: `${SUBJECT_PREFIX}.agent.*.register`,
  anyHeartbeat: `${SUBJECT_PREFIX}.agent.*.heartbeat`,
  anyResult: `${SUBJECT_PREFIX}.agent.*.result`,
  anyDeregister: `${SUBJECT_PREFIX}.agent.*.deregister`,
  anyInfer: `${SUBJECT_PREFIX}.tenant.*.infer`,
  anyAdminNode: `${SUBJECT_PREFIX}.admin.node.*`,
} as const;

/** The `index`-th dot-separated token of `subject` (0-based), or undefined. Allocation-light. */
export function subjectToken(subject: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const dot = subject.indexOf('.', start);
    if (dot < 0) return undefined;
    start = dot + 1;
  }
  const end = subject.indexOf('.', start);
  return end < 0 ? subject.slice(start) : subject.slice(start, end);
}

/** Node id from `sy.v1.agent.<nodeId>.<verb>`. */
export function nodeIdFromAgentSubject(subject: string): string | undefined {
  return subjectToken(subject, 3);
}

/** Tenant from `sy.v1.tenant.<tenant>.infer`. */
export function tenantFromSubject(subject: string): string | undefined {
  return subjectToken(subject, 3);
}
