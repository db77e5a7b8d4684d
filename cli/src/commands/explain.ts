import {
  decode,
  describeIssues,
  encode,
  type ExplainedCandidate,
  type ExplainReply,
  ExplainResponse,
  ExplainRequest,
  PRIORITIES,
  SLO_CLASSES,
  subjects,
} from '@switchyard/protocol';
import { formatTable } from '@switchyard/bench';
import { type Command, connectNats, intOption, type OptionValues, stringOption, UsageError } from '../command.js';
import { formatClusterPower } from './power.js';

function oneOf<T extends string>(values: OptionValues, name: string, allowed: readonly T[]): T {
  const value = stringOption(values, name);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** The ExplainRequest that `switchyard explain …` sends; bad flags are usage errors. */
export function explainRequestFromOptions(values: OptionValues, positionals: readonly string[]): ExplainRequest {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const request: ExplainRequest = {
    v: 1,
    model: stringOption(values, 'model'),
    inputTokens: intOption(values, 'input-tokens', 1, 2_000_000),
    maxOutputTokens: intOption(values, 'max-output-tokens', 1, 2_000_000),
    priority: oneOf(values, 'priority', PRIORITIES),
    sloClass: oneOf(values, 'slo-class', SLO_CLASSES),
    candidateLimit: intOption(values, 'limit', 1, 500),
  };
  if (typeof values['region'] === 'string') request.region = values['region'];
  if (typeof values['deadline-ms'] === 'string') {
    request.deadlineAfterMs = intOption(values, 'deadline-ms', 1, 7 * 24 * 3_600_000);
  }
  const checked = ExplainRequest.safeParse(request);
  if (!checked.success) throw new UsageError(describeIssues(checked.error.issues));
  return checked.data;
}

/** Milliseconds, joules or watts for a table cell: one decimal below 100, whole numbers above. */
function quantity(value: number | undefined): string {
  if (value === undefined) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: value < 100 ? 1 : 0 });
}

function verdict(candidate: ExplainedCandidate, chosen: string | undefined, scorers: number): string {
  if (candidate.rejectedBy !== undefined) return `rejected by ${candidate.rejectedBy}`;
  const label = candidate.nodeId === chosen ? 'chosen' : 'fits';
  const scores = Object.entries(candidate.scores ?? {});
  if (scorers <= 1 || scores.length === 0) return label;
  return `${label} (${scores.map(([name, value]) => `${name} ${value.toFixed(2)}`).join(', ')})`;
}

/** What `switchyard explain` prints: the request, the pipeline, the candidates, the decision, cluster power. */
export function formatExplain(request: ExplainRequest, reply: ExplainReply): string {
  const chosen = reply.decision.ok ? reply.decision.nodeId : undefined;
  const { pipeline } = reply;
  const deadline = request.deadlineAfterMs === undefined ? '' : `, deadline ${request.deadlineAfterMs} ms`;
  const lines = [
    `${request.model}: ${request.inputTokens} prompt + ≤ ${request.maxOutputTokens} output tokens, ` +
      `${request.sloClass}, ${request.priority} priority${deadline}` +
      (request.region === undefined ? '' : `, from ${request.region}`),
    `pipeline: filters ${pipeline.filters.join(' → ') || '(none)'}; scorers ${pipeline.scorers
      .map((s) => `${s.name} ×${s.weight}`)
      .join(', ')}; picker ${pipeline.picker}`,
    '',
  ];
  if (reply.candidates.length > 0) {
    lines.push(
      formatTable(
        ['node', 'cluster', 'profile', 'verdict', 'score', 'TTFT ms', 'total ms', 'energy J', 'ΔW', 'cold'],
        reply.candidates.map((c) => [
          c.nodeId,
          c.cluster,
          c.profile,
          verdict(c, chosen, pipeline.scorers.length),
          c.total === undefined ? '–' : c.total.toFixed(3),
          quantity(c.estimate?.ttftMs),
          quantity(c.estimate?.totalMs),
          quantity(c.estimate?.energyJoules),
          quantity(c.estimate?.powerDeltaWatts),
          c.estimate === undefined ? '' : c.estimate.coldStart ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  }
  lines.push(`${reply.candidates.length} of ${reply.candidatesTotal} nodes shown`);
  lines.push(
    reply.decision.ok
      ? `chosen: ${reply.decision.nodeId} (score ${reply.decision.score.toFixed(3)})`
      : `no node: ${reply.decision.code}: ${reply.decision.message}`,
  );
  if (reply.power.length > 0) lines.push('', formatClusterPower(reply.power));
  return lines.join('\n');
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show how the scheduler would place a request now: every candidate, its verdict and predictions',
  options: {
    model: { type: 'string', description: 'model name (required)' },
    'input-tokens': { type: 'string', description: 'prompt length in tokens (required)' },
    'max-output-tokens': { type: 'string', description: 'output length limit in tokens (required)' },
    'slo-class': { type: 'string', default: 'interactive', description: 'interactive, standard or batch' },
    priority: { type: 'string', default: 'normal', description: 'high, normal or low' },
    region: { type: 'string', description: "the client's region (adds its round trip to each cluster)" },
    'deadline-ms': { type: 'string', description: 'deadline of standard and batch work, in ms from now' },
    limit: { type: 'string', default: '20', description: 'list at most this many candidates (1-500)' },
    json: { type: 'boolean', description: 'print the raw reply as JSON' },
    'timeout-ms': { type: 'string', default: '5000', description: 'how long to wait for the scheduler' },
  },
  async run(values, positionals) {
    const request = explainRequestFromOptions(values, positionals);
    const timeout = intOption(values, 'timeout-ms', 1, 600_000);
    const nc = await connectNats(values);
    try {
      const reply = await nc.request(subjects.adminExplain, encode(request), { timeout });
      const decoded = decode(ExplainResponse, reply.data);
      if (!decoded.ok) throw new Error(`invalid reply: ${decoded.error.message}`);
      if (!decoded.value.ok) {
        console.error(`${decoded.value.error.code}: ${decoded.value.error.message}`);
        return 1;
      }
      console.log(
        values['json'] === true ? JSON.stringify(decoded.value, null, 2) : formatExplain(request, decoded.value),
      );
      return 0;
    } finally {
      await nc.close();
    }
  },
};
