/**
 * The subjects fuzz.test.ts fires at, and how to judge what comes back: each subject a scheduler or
 * agent listens on, the message its handler decodes, the replies it may send and how a refused body
 * is counted; the hostile bodies for a subject; and the check of one reply.
 */
import * as fc from 'fast-check';
import type { z } from 'zod';
import {
  AssignmentReply,
  BatchResultsResponse,
  BatchStatusResponse,
  BatchSubmitResponse,
  CancelAck,
  ClusterBudgetResponse,
  decode,
  ErrorReply,
  ExplainResponse,
  InferChunk,
  InferReply,
  LatencyReportResponse,
  NodeCommandResponse,
  PowerLimitResponse,
  RegistrationReply,
  SessionAdoptReply,
  type SessionInfo,
  SessionListResponse,
  SessionResponse,
  SessionTurnReply,
  StatusResponse,
  subjects,
  type WireError,
} from '@switchyard/protocol';
import type { MessageName } from '../../../protocol/src/export-schemas.js';
import {
  anyJsonText,
  characterBoundaries,
  exampleOf,
  hostileBody,
  INVALID_UTF8_SEQUENCES,
  type Json,
  paddedTo,
  SIZES_AT_LIMIT,
  withInserted,
} from '../../../protocol/src/fuzz-arbitraries.test-support.js';

/** The tenant every tenant subject under fire belongs to. */
export const TENANT = 'fuzz';
/** The nodes the agent host under fire runs. */
export const NODE_IDS = ['fuzz-0', 'fuzz-1'] as const;
/** A node id no agent has: the scheduler must refuse, not adopt, whatever arrives on its subjects. */
const FRESH_NODE_ID = 'fuzz-fresh-0';

const utf8Encoder = new TextEncoder();
/** A string's UTF-8 bytes, as a message body. */
export const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

export type Counted = 'rejection' | 'drop' | 'agent-notice' | 'none';

/** One subject under fire. */
export interface Target {
  readonly label: string;
  readonly subject: string;
  /** The message the handler decodes this subject's body as. */
  readonly message: MessageName;
  /** The body hostile mutations start from: the example, made cheap to serve where it is valid work. */
  readonly base: Json;
  /** Replies a request may get; an empty list means the subject never answers (fire-and-forget). */
  readonly replies: readonly z.ZodType[];
  /**
   * How a refused body shows: answered and counted `invalid.<code>` (rejection), counted
   * `dropped.invalid.<code>` (drop), logged by the agent (agent-notice), or answered only (none).
   */
  readonly counted: Counted;
  /** Node id the subject speaks for, where the handler checks the body's nodeId against it. */
  readonly subjectNodeId?: string;
  /** The subject refuses every body with INVALID_REQUEST before decoding (an unknown verb). */
  readonly unknownVerb?: boolean;
}

function cheap(name: MessageName, overrides: Record<string, Json>): Json {
  return { ...(exampleOf(name) as Record<string, Json>), ...overrides };
}

/** A scheduler subject that decodes `message` and answers `reply` or a rejection counted `invalid.<code>`. */
const schedulerSubject = (label: string, subject: string, message: MessageName, reply: z.ZodType): Target => ({
  label,
  subject,
  message,
  base: exampleOf(message),
  replies: [reply],
  counted: 'rejection',
});
/** A verb no handler knows, under a wildcard a handler listens on. */
const unknownVerb = (subject: string): Target => ({
  label: subject,
  subject,
  message: 'NodeCommand',
  base: exampleOf('NodeCommand'),
  replies: [],
  counted: 'none',
  unknownVerb: true,
});

/** Every subject under fire: the scheduler's, each node's, and the turn subject of `session` on its owner node. */
export function targetsFor(session: SessionInfo, ownerNodeId: string): Target[] {
  const agentTargets = (nodeId: string): Target[] => [
    {
      label: `${nodeId} assign`,
      subject: subjects.assign(nodeId),
      message: 'Assignment',
      base: cheap('Assignment', {
        model: 'llama-3.1-8b',
        inputTokens: 16,
        maxOutputTokens: 4,
        replyTo: 'fuzz.assignment.replies',
      }),
      replies: [AssignmentReply],
      counted: 'none',
    },
    {
      label: `${nodeId} power`,
      subject: subjects.nodePower(nodeId),
      message: 'PowerLimitCommand',
      base: exampleOf('PowerLimitCommand'),
      replies: [PowerLimitResponse],
      counted: 'none',
    },
    {
      label: `${nodeId} cancel`,
      subject: subjects.nodeCancel(nodeId, TENANT),
      message: 'CancelRequest',
      base: exampleOf('CancelRequest'),
      replies: [CancelAck, ErrorReply],
      counted: 'none',
    },
    {
      label: `${nodeId} notice`,
      subject: subjects.notice(nodeId),
      message: 'NodeNotice',
      base: exampleOf('NodeNotice'),
      replies: [],
      counted: 'agent-notice',
    },
    {
      label: `${nodeId} session adopt`,
      subject: subjects.nodeSession(nodeId, 'adopt'),
      message: 'SessionAdopt',
      base: exampleOf('SessionAdopt'),
      replies: [SessionAdoptReply],
      counted: 'none',
    },
    {
      label: `${nodeId} session release`,
      subject: subjects.nodeSession(nodeId, 'release'),
      message: 'SessionRelease',
      base: exampleOf('SessionRelease'),
      replies: [SessionAdoptReply],
      counted: 'none',
    },
  ];
  const agentSubjects = (nodeId: string): Target[] => [
    {
      label: `${nodeId} register`,
      subject: subjects.register(nodeId),
      message: 'Registration',
      base: exampleOf('Registration'),
      replies: [RegistrationReply],
      counted: 'rejection',
    },
    ...(['heartbeat', 'result', 'deregister'] as const).map((verb): Target => ({
      label: `${nodeId} ${verb}`,
      subject: subjects[verb](nodeId),
      message: ({ heartbeat: 'Heartbeat', result: 'WorkResult', deregister: 'Deregistration' } as const)[verb],
      base: exampleOf(({ heartbeat: 'Heartbeat', result: 'WorkResult', deregister: 'Deregistration' } as const)[verb]),
      replies: [],
      counted: 'drop',
      subjectNodeId: nodeId,
    })),
  ];
  return [
    ...agentSubjects(NODE_IDS[0]),
    ...agentSubjects(FRESH_NODE_ID),
    {
      label: 'tenant infer',
      subject: subjects.infer(TENANT),
      message: 'InferRequest',
      base: cheap('InferRequest', { model: 'llama-3.1-8b', inputTokens: 16, maxOutputTokens: 4 }),
      replies: [InferReply, InferChunk],
      counted: 'rejection',
    },
    {
      label: 'session open',
      subject: subjects.session(TENANT, 'open'),
      message: 'SessionOpenRequest',
      base: cheap('SessionOpenRequest', { model: 'llama-3.1-8b', expectedContextTokens: 1024 }),
      replies: [SessionResponse],
      counted: 'rejection',
    },
    schedulerSubject('session get', subjects.session(TENANT, 'get'), 'SessionRef', SessionResponse),
    schedulerSubject('session list', subjects.session(TENANT, 'list'), 'SessionListRequest', SessionListResponse),
    schedulerSubject('session close', subjects.session(TENANT, 'close'), 'SessionRef', SessionResponse),
    {
      label: 'batch submit',
      subject: subjects.batch(TENANT, 'submit'),
      message: 'BatchSubmitRequest',
      base: cheap('BatchSubmitRequest', { items: [{ inputTokens: 16, maxOutputTokens: 4 }] }),
      replies: [BatchSubmitResponse],
      counted: 'rejection',
    },
    schedulerSubject('batch status', subjects.batch(TENANT, 'status'), 'BatchRef', BatchStatusResponse),
    schedulerSubject('batch results', subjects.batch(TENANT, 'results'), 'BatchResultsRequest', BatchResultsResponse),
    schedulerSubject('admin status', subjects.adminStatus, 'StatusRequest', StatusResponse),
    schedulerSubject('admin cordon', subjects.adminNode('cordon'), 'NodeCommand', NodeCommandResponse),
    schedulerSubject('admin uncordon', subjects.adminNode('uncordon'), 'NodeCommand', NodeCommandResponse),
    schedulerSubject('admin drain', subjects.adminNode('drain'), 'NodeCommand', NodeCommandResponse),
    schedulerSubject('admin explain', subjects.adminExplain, 'ExplainRequest', ExplainResponse),
    schedulerSubject('admin power budget', subjects.adminPowerBudget, 'ClusterBudgetUpdate', ClusterBudgetResponse),
    schedulerSubject('admin latency', subjects.adminLatency, 'LatencyReport', LatencyReportResponse),
    unknownVerb('sy.v1.admin.node.explode'),
    unknownVerb(`sy.v1.tenant.${TENANT}.session.frobnicate`),
    unknownVerb(`sy.v1.tenant.${TENANT}.batch.frobnicate`),
    ...NODE_IDS.flatMap(agentTargets),
    {
      label: `session turn on ${ownerNodeId}`,
      subject: subjects.sessionTurn(TENANT, session.sessionId, ownerNodeId),
      message: 'SessionTurnRequest',
      base: cheap('SessionTurnRequest', { inputTokens: 16, maxOutputTokens: 4 }),
      replies: [SessionTurnReply, InferChunk],
      counted: 'none',
    },
  ];
}

/** Hostile bodies for one target: mostly mutations of its base, plus raw bytes, any JSON, broken UTF-8, bodies at the size limit. */
export function hostilePayload(target: Target): fc.Arbitrary<Uint8Array> {
  const baseText = JSON.stringify(target.base);
  return fc.oneof(
    { weight: 12, arbitrary: hostileBody(target.base).map(utf8) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 2, arbitrary: anyJsonText.map(utf8) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8_SEQUENCES)).map(([pick, sequence]) => {
        const bytes = utf8(baseText);
        const boundaries = characterBoundaries(bytes);
        return withInserted(bytes, boundaries[pick % boundaries.length] ?? 0, sequence);
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...SIZES_AT_LIMIT), fc.constantFrom('whitespace' as const, 'unknown-string' as const))
        .map(([size, padding]) => paddedTo(baseText, size, padding)),
    },
  );
}

/** A body, cut short, for failure messages. */
export const describeBody = (bytes: Uint8Array): string => {
  const text = new TextDecoder().decode(bytes.subarray(0, 300));
  return `${bytes.byteLength} bytes: ${JSON.stringify(text)}${bytes.byteLength > 300 ? '…' : ''}`;
};

/** Checks one reply to a request: a typed error (decode's own, when decode refuses the body) or a success of the subject's kind. */
export function checkReply(
  target: Target,
  bytes: Uint8Array,
  local: ReturnType<typeof decode>,
  data: Uint8Array,
): void {
  const where = `${target.label} answered ${JSON.stringify(new TextDecoder().decode(data.subarray(0, 400)))} to ${describeBody(bytes)}`;
  let reply: unknown;
  try {
    reply = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new Error(`${where}: the reply is not JSON`);
  }
  if (typeof reply === 'object' && reply !== null && 'ok' in reply && reply.ok === false) {
    const typed = decode(ErrorReply, data);
    if (!typed.ok) throw new Error(`${where}: not a valid ErrorReply (${typed.error.message})`);
    if (target.unknownVerb === true) {
      if (typed.value.error.code !== 'INVALID_REQUEST') throw new Error(`${where}: expected INVALID_REQUEST`);
    } else if (!local.ok) {
      const expected: WireError = local.error;
      if (typed.value.error.code !== expected.code || typed.value.error.message !== expected.message) {
        throw new Error(`${where}: expected decode's own error ${JSON.stringify(expected)}`);
      }
    }
    return;
  }
  if (target.unknownVerb === true || !local.ok) throw new Error(`${where}: a success reply to a body decode refuses`);
  if (!target.replies.some((schema) => decode(schema, data).ok))
    throw new Error(`${where}: not a reply of this subject`);
}

/** The node id a decoded body claims to speak for, if any. */
export function bodyNodeId(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'nodeId' in value && typeof value.nodeId === 'string'
    ? value.nodeId
    : undefined;
}
