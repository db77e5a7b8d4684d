import type { z } from 'zod';
import type { ExampleMessages } from './example-messages.js';
import type { ClusterPower } from './messages/power.js';

/** edge-fra-1 near its 3.5 MW budget: new work is steered to other clusters. */
const clusterPower: z.input<typeof ClusterPower> = {
  cluster: 'edge-fra-1',
  budgetWatts: 3_500_000,
  safetyMargin: 0.05,
  measuredWatts: 2_905_300,
  committedWatts: 2_911_800,
  stage: 'steer',
};

type PowerMessageName =
  | 'PowerLimitCommand'
  | 'PowerLimitAck'
  | 'ClusterBudgetUpdate'
  | 'ClusterBudgetReply'
  | 'LatencyReport'
  | 'LatencyReportReply'
  | 'ExplainRequest'
  | 'ExplainReply';

/** Examples of the power, topology and explain messages (section 15 of docs/protocol.md). */
export const POWER_EXAMPLES: Pick<ExampleMessages, PowerMessageName> = {
  PowerLimitCommand: { v: 1, limitWatts: 6400, reason: 'edge-fra-1 over its power budget (cap stage)' },
  PowerLimitAck: { v: 1, ok: true, nodeId: 'trn2-fra1-0007', appliedWatts: 6400 },
  ClusterBudgetUpdate: { v: 1, cluster: 'edge-fra-1', budgetWatts: 3_500_000, safetyMargin: 0.05 },
  ClusterBudgetReply: { v: 1, ok: true, power: clusterPower },
  LatencyReport: {
    v: 1,
    samples: [
      { region: 'eu-central', cluster: 'edge-fra-1', rttMs: 3.8 },
      { region: 'eu-central', cluster: 'edge-iad-1', rttMs: 91.2 },
    ],
  },
  LatencyReportReply: { v: 1, ok: true, applied: 2 },
  ExplainRequest: {
    v: 1,
    model: 'llama-3.3-70b',
    inputTokens: 812,
    maxOutputTokens: 256,
    sloClass: 'interactive',
    region: 'eu-central',
    candidateLimit: 3,
  },
  ExplainReply: {
    v: 1,
    ok: true,
    decision: { ok: true, nodeId: 'trn2-fra1-0007', score: 0.84 },
    pipeline: {
      filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit', 'power-budget'],
      scorers: [
        { name: 'slo-aware', weight: 1 },
        { name: 'batch-headroom', weight: 0.1 },
      ],
      picker: 'max-score',
    },
    candidatesTotal: 3,
    candidates: [
      {
        nodeId: 'trn2-fra1-0007',
        cluster: 'edge-fra-1',
        profile: 'trn2',
        scores: { 'slo-aware': 0.86, 'batch-headroom': 0.67 },
        total: 0.84,
        estimate: {
          coldStart: false,
          networkMs: 3.8,
          loadMs: 0,
          queueWaitMs: 0,
          prefillMs: 66.2,
          ttftMs: 70,
          totalMs: 5068,
          energyJoules: 912.4,
          powerDeltaWatts: 38.5,
        },
      },
      { nodeId: 'h100-iad1-0001', cluster: 'edge-iad-1', profile: 'h100', rejectedBy: 'power-budget' },
      { nodeId: 'l4-fra1-0002', cluster: 'edge-fra-1', profile: 'l4', rejectedBy: 'model-supported' },
    ],
    power: [clusterPower],
  },
};
