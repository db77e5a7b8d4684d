import { z } from 'zod';
import { ExplainReply } from './explain.js';
import { ClusterBudgetReply, LatencyReportReply, PowerLimitAck } from './power.js';
import { StatusReply, NodeCommandReply } from './admin.js';
import { ErrorReply } from './common.js';
import { AssignmentAck, InferResult } from './inference.js';
import { RegistrationAck } from './node.js';
import { BatchAccepted, BatchResultsReply, BatchStatus } from './batch.js';
import { SessionAdoptAck, SessionInfo, SessionListReply, SessionTurnResult } from './session.js';

/** What a client receives on its reply subject for an InferRequest. */
export const InferReply = z.discriminatedUnion('ok', [InferResult, ErrorReply]);
export type InferReply = z.infer<typeof InferReply>;

export const RegistrationReply = z.discriminatedUnion('ok', [RegistrationAck, ErrorReply]);
export type RegistrationReply = z.infer<typeof RegistrationReply>;

export const AssignmentReply = z.discriminatedUnion('ok', [AssignmentAck, ErrorReply]);
export type AssignmentReply = z.infer<typeof AssignmentReply>;

export const StatusResponse = z.discriminatedUnion('ok', [StatusReply, ErrorReply]);
export type StatusResponse = z.infer<typeof StatusResponse>;

export const NodeCommandResponse = z.discriminatedUnion('ok', [NodeCommandReply, ErrorReply]);
export type NodeCommandResponse = z.infer<typeof NodeCommandResponse>;

export const SessionResponse = z.discriminatedUnion('ok', [SessionInfo, ErrorReply]);
export type SessionResponse = z.infer<typeof SessionResponse>;

export const SessionListResponse = z.discriminatedUnion('ok', [SessionListReply, ErrorReply]);
export type SessionListResponse = z.infer<typeof SessionListResponse>;

export const SessionTurnReply = z.discriminatedUnion('ok', [SessionTurnResult, ErrorReply]);
export type SessionTurnReply = z.infer<typeof SessionTurnReply>;

export const SessionAdoptReply = z.discriminatedUnion('ok', [SessionAdoptAck, ErrorReply]);
export type SessionAdoptReply = z.infer<typeof SessionAdoptReply>;

export const BatchSubmitResponse = z.discriminatedUnion('ok', [BatchAccepted, ErrorReply]);
export type BatchSubmitResponse = z.infer<typeof BatchSubmitResponse>;

export const BatchStatusResponse = z.discriminatedUnion('ok', [BatchStatus, ErrorReply]);
export type BatchStatusResponse = z.infer<typeof BatchStatusResponse>;

export const BatchResultsResponse = z.discriminatedUnion('ok', [BatchResultsReply, ErrorReply]);
export type BatchResultsResponse = z.infer<typeof BatchResultsResponse>;

/** Replies on `sy.v1.admin.power.budget`. */
export const ClusterBudgetResponse = z.discriminatedUnion('ok', [ClusterBudgetReply, ErrorReply]);
export type ClusterBudgetResponse = z.infer<typeof ClusterBudgetResponse>;

/** Replies on `sy.v1.admin.latency`. */
export const LatencyReportResponse = z.discriminatedUnion('ok', [LatencyReportReply, ErrorReply]);
export type LatencyReportResponse = z.infer<typeof LatencyReportResponse>;

/** Replies on `sy.v1.admin.explain`. */
export const ExplainResponse = z.discriminatedUnion('ok', [ExplainReply, ErrorReply]);
export type ExplainResponse = z.infer<typeof ExplainResponse>;

/** Replies on `sy.v1.node.<nodeId>.power`. */
export const PowerLimitResponse = z.discriminatedUnion('ok', [PowerLimitAck, ErrorReply]);
export type PowerLimitResponse = z.infer<typeof PowerLimitResponse>;
