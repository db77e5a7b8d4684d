import { z } from 'zod';
import {
  BatchAccepted,
  BatchItemResult,
  BatchRecord,
  BatchRef,
  BatchResultsReply,
  BatchResultsRequest,
  BatchStatus,
  BatchSubmitRequest,
  BatchWorkItem,
} from './messages/batch.js';
import { LeaderLease, NodeCommand, NodeCommandReply, StatusReply, StatusRequest } from './messages/admin.js';
import { ErrorReply } from './messages/common.js';
import { ExplainReply, ExplainRequest } from './messages/explain.js';
import {
  ClusterBudgetReply,
  ClusterBudgetUpdate,
  LatencyReport,
  LatencyReportReply,
  PowerLimitAck,
  PowerLimitCommand,
} from './messages/power.js';
import {
  Assignment,
  AssignmentAck,
  CancelAck,
  CancelRequest,
  InferChunk,
  InferRequest,
  InferResult,
  WorkResult,
} from './messages/inference.js';
import { Deregistration, Heartbeat, NodeNotice, Registration, RegistrationAck } from './messages/node.js';
import {
  SessionAdopt,
  SessionAdoptAck,
  SessionInfo,
  SessionListReply,
  SessionListRequest,
  SessionLogEntry,
  SessionOpenRequest,
  SessionRecord,
  SessionRef,
  SessionRelease,
  SessionTurnRequest,
  SessionTurnResult,
} from './messages/session.js';

/** Every message of protocol v1 by its documented name; the JSON Schemas in docs/schemas are made from these. */
export const MESSAGE_SCHEMAS = {
  Registration,
  RegistrationAck,
  Heartbeat,
  Deregistration,
  NodeNotice,
  InferRequest,
  InferResult,
  InferChunk,
  CancelRequest,
  CancelAck,
  Assignment,
  AssignmentAck,
  WorkResult,
  StatusRequest,
  StatusReply,
  NodeCommand,
  NodeCommandReply,
  ErrorReply,
  SessionOpenRequest,
  SessionInfo,
  SessionRecord,
  SessionTurnRequest,
  SessionTurnResult,
  SessionRef,
  SessionListRequest,
  SessionListReply,
  SessionAdopt,
  SessionAdoptAck,
  SessionRelease,
  SessionLogEntry,
  LeaderLease,
  BatchSubmitRequest,
  BatchAccepted,
  BatchRef,
  BatchStatus,
  BatchWorkItem,
  BatchItemResult,
  BatchResultsRequest,
  BatchResultsReply,
  BatchRecord,
  PowerLimitCommand,
  PowerLimitAck,
  ClusterBudgetUpdate,
  ClusterBudgetReply,
  LatencyReport,
  LatencyReportReply,
  ExplainRequest,
  ExplainReply,
} as const;

/** JSON Schema (draft 2020-12) of one message, as it is accepted on input. */
export function jsonSchemaOf(name: keyof typeof MESSAGE_SCHEMAS): Record<string, unknown> {
  const schema = z.toJSONSchema(MESSAGE_SCHEMAS[name], { io: 'input', target: 'draft-2020-12' });
  return { $id: `urn:switchyard:protocol:v1:${name}`, title: name, ...schema };
}
