import { z } from 'zod';
import { StatusReply, NodeCommandReply } from './admin.js';
import { ErrorReply } from './common.js';
import { AssignmentAck, InferResult } from './inference.js';
import { RegistrationAck } from './node.js';

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
