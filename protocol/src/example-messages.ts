import type { z } from 'zod';
import type { MESSAGE_SCHEMAS } from './json-schema.js';
import type { NodeView } from './messages/admin.js';
import { POWER_EXAMPLES } from './example-power-messages.js';
import type { BatchItemResult, BatchSubmitRequest } from './messages/batch.js';
import type { SessionListReply } from './messages/session.js';

/** The wire body (schema input) of each documented message. */
export type ExampleMessages = { [K in keyof typeof MESSAGE_SCHEMAS]: z.input<(typeof MESSAGE_SCHEMAS)[K]> };

const timings = { queueMs: 4, loadMs: 0, ttftMs: 38.5, totalMs: 912.25 };

const nodeView: z.input<typeof NodeView> = {
  nodeId: 'trn2-fra1-0007',
  cluster: 'edge-fra-1',
  zone: 'fra-1a',
  profile: 'trn2',
  acceleratorCount: 16,
  state: 'ready',
  models: [{ name: 'llama-3.3-70b', state: 'loaded' }],
  queueDepth: 2,
  inFlight: 11,
  maxBatchSize: 64,
  utilization: 0.62,
  assumed: 1,
  hbmTotalBytes: 1_649_267_441_664,
  hbmUsedBytes: 412_316_860_416,
  powerDrawWatts: 5120.5,
  powerLimitWatts: 8000,
  temperatureC: 61.5,
  lastHeartbeatAgeMs: 412,
};

const sessionId = 's-7f3c2a9e41b0';
const turnKey = '01JA0C8W3T6Q2R9V4M7N5P8K1D';

/** Session `s-7f3c2a9e41b0` of tenant `acme` after three turns, served by node trn2-fra1-0007. */
const sessionFields: z.input<typeof SessionListReply>['sessions'][number] = {
  sessionId,
  tenant: 'acme',
  model: 'llama-3.3-70b',
  state: 'open',
  ownerNodeId: 'trn2-fra1-0007',
  contextTokens: 2431,
  expectedContextTokens: 32_768,
  turns: 3,
  createdAtMs: 1_735_689_600_000,
  turnSubject: `sy.v1.tenant.acme.session.${sessionId}.turn`,
};

/** Batch `b-5d1e0c7a93f2` of tenant `acme`: three support tickets, submitted 2025-01-01T01:00Z with a 6 h deadline. */
const batchId = 'b-5d1e0c7a93f2';
const batchCreatedAtMs = 1_735_693_200_000;
const batchDeadlineAtMs = batchCreatedAtMs + 21_600_000;
const ticket = (ticketNo: number, inputTokens: number): z.input<typeof BatchSubmitRequest>['items'][number] => ({
  inputTokens,
  maxOutputTokens: 200,
  prompt: `Summarise support ticket #${ticketNo} in one sentence and tag it billing, outage or feature-request.`,
});
const lastBatchItem = ticket(48213, 2210);
const batchItems = [ticket(48211, 1536), ticket(48212, 902), lastBatchItem];

/** Item 1 of the batch, run on trn2-fra1-0007 at low priority. */
const batchItemResult: z.input<typeof BatchItemResult> = {
  v: 1,
  batchId,
  index: 1,
  ok: true,
  nodeId: 'trn2-fra1-0007',
  outputTokens: 64,
  timings: { queueMs: 1840, loadMs: 0, ttftMs: 1921.5, totalMs: 2712.25 },
  completedAtMs: 1_735_693_263_000,
};

/**
 * One realistic body of every protocol v1 message, as a peer would send it. The tests check that each
 * is accepted by its schema (and survives encode/decode); docs/protocol.md shows the same shapes.
 */
export const EXAMPLE_MESSAGES: ExampleMessages = {
  Registration: {
    v: 1,
    nodeId: 'trn2-fra1-0007',
    incarnation: '01J9ZQ4V7K3M8X2B5N6P',
    seq: 0,
    sentAtMs: 1_735_689_600_000,
    cluster: 'edge-fra-1',
    zone: 'fra-1a',
    state: 'ready',
    accelerator: { profile: 'trn2', count: 16, hbmTotalBytes: 1_649_267_441_664, hbmUsedBytes: 0 },
    models: [],
    queueDepth: 0,
    inFlight: 0,
    maxBatchSize: 64,
    utilization: 0.62,
    powerDrawWatts: 1450,
    powerLimitWatts: 8000,
    temperatureC: 34,
    agentVersion: '0.1.0',
    heartbeatIntervalMs: 1000,
  },
  RegistrationAck: { v: 1, ok: true, schedulerId: 'sched-a', suspectAfterMs: 3000, deadAfterMs: 10_000 },
  Heartbeat: {
    v: 1,
    nodeId: 'trn2-fra1-0007',
    incarnation: '01J9ZQ4V7K3M8X2B5N6P',
    seq: 42,
    sentAtMs: 1_735_689_642_000,
    cluster: 'edge-fra-1',
    zone: 'fra-1a',
    state: 'ready',
    accelerator: { profile: 'trn2', count: 16, hbmTotalBytes: 1_649_267_441_664, hbmUsedBytes: 412_316_860_416 },
    models: [
      { name: 'llama-3.3-70b', state: 'loaded' },
      { name: 'llama-3.1-8b', state: 'loading' },
    ],
    queueDepth: 2,
    inFlight: 11,
    maxBatchSize: 64,
    utilization: 0.62,
    powerDrawWatts: 5120.5,
    powerLimitWatts: 8000,
    temperatureC: 61.5,
  },
  Deregistration: {
    v: 1,
    nodeId: 'trn2-fra1-0007',
    incarnation: '01J9ZQ4V7K3M8X2B5N6P',
    reason: 'SIGTERM: rolling upgrade',
  },
  NodeNotice: { v: 1, action: 'register', reason: 'heartbeat from unknown node trn2-fra1-0007' },
  InferRequest: {
    v: 1,
    model: 'llama-3.3-70b',
    inputTokens: 812,
    maxOutputTokens: 256,
    priority: 'normal',
    sloClass: 'interactive',
    deadlineAfterMs: 30_000,
    idempotencyKey: 'acme-chat-7f3c2a9e',
    prompt: 'Summarise the attached incident report in three bullet points.',
  },
  InferResult: {
    v: 1,
    ok: true,
    requestId: 'acme-chat-7f3c2a9e',
    nodeId: 'trn2-fra1-0007',
    cluster: 'edge-fra-1',
    model: 'llama-3.3-70b',
    inputTokens: 812,
    outputTokens: 187,
    timings,
    text: '- The outage began at 09:12 UTC.\n- A config push disabled health checks.\n- Rollback restored service.',
  },
  InferChunk: {
    v: 1,
    chunk: true,
    requestId: 'acme-chat-7f3c2a9e',
    attempt: 1,
    seq: 0,
    nodeId: 'trn2-fra1-0007',
    text: '- The outage began',
  },
  CancelRequest: { v: 1, requestId: 'acme-chat-7f3c2a9e' },
  CancelAck: { v: 1, ok: true, requestId: 'acme-chat-7f3c2a9e', cancelled: true },
  Assignment: {
    v: 1,
    requestId: 'acme-chat-7f3c2a9e',
    attempt: 1,
    tenant: 'acme',
    model: 'llama-3.3-70b',
    inputTokens: 812,
    maxOutputTokens: 256,
    priority: 'normal',
    sloClass: 'interactive',
    deadlineAfterMs: 29_996,
    replyTo: '_INBOX.tenant.acme.alice.hGdQ2pV9bWq4Xk1sT0rY3e',
    prompt: 'Summarise the attached incident report in three bullet points.',
  },
  AssignmentAck: { v: 1, ok: true, requestId: 'acme-chat-7f3c2a9e', queueDepth: 3 },
  WorkResult: {
    v: 1,
    nodeId: 'trn2-fra1-0007',
    requestId: 'acme-chat-7f3c2a9e',
    attempt: 1,
    ok: true,
    outputTokens: 187,
    timings,
    energyJoules: 2140.75,
  },
  StatusRequest: { v: 1, nodeLimit: 50 },
  StatusReply: {
    v: 1,
    ok: true,
    schedulerId: 'sched-a',
    uptimeMs: 86_400_000,
    totalNodes: 1,
    clusters: [
      {
        cluster: 'edge-fra-1',
        nodes: 1,
        readyNodes: 1,
        powerDrawWatts: 5120.5,
        powerLimitWatts: 8000,
        inFlight: 11,
        queueDepth: 2,
        batchSlots: 64,
        utilization: 0.62,
      },
    ],
    nodes: [nodeView],
    counters: { placements: 1_204_331, rejectedNoCapacity: 17, heartbeatsInvalid: 0 },
  },
  NodeCommand: { v: 1, nodeId: 'trn2-fra1-0007' },
  NodeCommandReply: { v: 1, ok: true, node: { ...nodeView, state: 'cordoned' } },
  ErrorReply: {
    v: 1,
    ok: false,
    error: {
      code: 'NO_CAPACITY',
      message: 'no node serving llama-3.3-70b has a free batch slot',
      retryable: true,
      retryAfterMs: 250,
      requestId: 'acme-chat-7f3c2a9e',
    },
  },
  SessionOpenRequest: {
    v: 1,
    model: 'llama-3.3-70b',
    expectedContextTokens: 32_768,
    sloClass: 'interactive',
    placement: { cluster: 'edge-fra-1', zone: 'fra-1a' },
  },
  SessionInfo: { v: 1, ok: true, ...sessionFields },
  // Mid-migration: the old owner died, the new one is not chosen yet.
  SessionRecord: { v: 1, ...sessionFields, state: 'migrating', ownerNodeId: null },
  SessionTurnRequest: {
    v: 1,
    turnKey,
    inputTokens: 214,
    maxOutputTokens: 512,
    prompt: 'Now draft the customer-facing status update for the same incident.',
  },
  // Turn 4, the first one on the new owner: it re-prefilled the 2,431 tokens of context first.
  SessionTurnResult: {
    v: 1,
    ok: true,
    sessionId,
    turnKey,
    turn: 4,
    nodeId: 'trn2-fra1-0012',
    inputTokens: 214,
    outputTokens: 301,
    contextTokens: 2946,
    restoredContextTokens: 2431,
    replayed: false,
    timings: { queueMs: 2, loadMs: 0, ttftMs: 121.5, totalMs: 1630.75 },
  },
  SessionRef: { v: 1, sessionId },
  SessionListRequest: { v: 1, limit: 50 },
  SessionListReply: {
    v: 1,
    ok: true,
    total: 2,
    sessions: [
      sessionFields,
      {
        ...sessionFields,
        sessionId: 's-0b9d44e1c2f7',
        state: 'closed',
        ownerNodeId: 'trn2-fra1-0003',
        contextTokens: 18_204,
        turns: 27,
        createdAtMs: 1_735_686_000_000,
        turnSubject: 'sy.v1.tenant.acme.session.s-0b9d44e1c2f7.turn',
      },
    ],
  },
  SessionAdopt: {
    v: 1,
    sessionId,
    tenant: 'acme',
    model: 'llama-3.3-70b',
    ownerRevision: 7,
    reason: 'migrate',
  },
  SessionAdoptAck: { v: 1, ok: true, sessionId, restoredTurns: 3, contextTokens: 2431 },
  SessionRelease: { v: 1, sessionId, reason: 'closed' },
  SessionLogEntry: {
    v: 1,
    sessionId,
    turn: 4,
    turnKey,
    requestDigest: 'uopXrVenvibpjf6jR7qG4xbyPBxt0eNw',
    nodeId: 'trn2-fra1-0012',
    inputTokens: 214,
    outputTokens: 301,
    contextTokens: 2946,
    atMs: 1_735_690_212_000,
    serviceMs: 1630.75,
  },
  LeaderLease: { v: 1, holder: 'sched-3fa91c07', term: 12, leaseMs: 5000 },
  BatchSubmitRequest: {
    v: 1,
    model: 'llama-3.1-8b',
    items: batchItems,
    deadlineAfterMs: 21_600_000,
    idempotencyKey: 'acme-tickets-2025-01-01',
  },
  BatchAccepted: { v: 1, ok: true, batchId, items: 3, deadlineAtMs: batchDeadlineAtMs },
  BatchRef: { v: 1, batchId },
  // A minute after the submission: items 0 and 1 have results, item 2 is still running.
  BatchStatus: {
    v: 1,
    ok: true,
    batchId,
    model: 'llama-3.1-8b',
    items: 3,
    done: 2,
    failed: 0,
    state: 'running',
    deadlineAtMs: batchDeadlineAtMs,
  },
  // Item 2 in the work queue SY_BATCH_WORK (subject sy.v1.batch.work.b-5d1e0c7a93f2, Nats-Msg-Id b-5d1e0c7a93f2:2).
  BatchWorkItem: {
    v: 1,
    batchId,
    index: 2,
    tenant: 'acme',
    model: 'llama-3.1-8b',
    ...lastBatchItem,
    deadlineAtMs: batchDeadlineAtMs,
  },
  BatchItemResult: batchItemResult,
  BatchResultsRequest: { v: 1, batchId, fromIndex: 0, limit: 2 },
  BatchResultsReply: {
    v: 1,
    ok: true,
    batchId,
    results: [
      {
        ...batchItemResult,
        index: 0,
        nodeId: 'trn2-fra1-0012',
        outputTokens: 71,
        timings: { queueMs: 12, loadMs: 0, ttftMs: 96.5, totalMs: 1010.75 },
        completedAtMs: 1_735_693_201_200,
      },
      batchItemResult,
    ],
    nextIndex: 2,
  },
  BatchRecord: {
    v: 1,
    batchId,
    tenant: 'acme',
    model: 'llama-3.1-8b',
    items: 3,
    deadlineAtMs: batchDeadlineAtMs,
    createdAtMs: batchCreatedAtMs,
  },
  ...POWER_EXAMPLES,
};
