import { decode, describeIssues, encode, LatencyReport, LatencyReportResponse, subjects } from '@switchyard/protocol';
import {
  type Command,
  connectNats,
  intOption,
  numberOption,
  type OptionValues,
  stringOption,
  UsageError,
} from '../command.js';

/** The LatencyReport that `switchyard latency report …` sends (one sample); bad flags are usage errors. */
export function latencyReportFromOptions(values: OptionValues, positionals: readonly string[]): LatencyReport {
  const [verb, ...extra] = positionals;
  if (verb !== 'report' || extra.length > 0) {
    throw new UsageError('expected: switchyard latency report --region <name> --cluster <name> --rtt-ms <ms>');
  }
  const report: LatencyReport = {
    v: 1,
    samples: [
      {
        region: stringOption(values, 'region'),
        cluster: stringOption(values, 'cluster'),
        rttMs: numberOption(values, 'rtt-ms', 0, 60_000),
      },
    ],
  };
  const checked = LatencyReport.safeParse(report);
  if (!checked.success) throw new UsageError(describeIssues(checked.error.issues));
  return checked.data;
}

export const latencyCommand: Command = {
  name: 'latency',
  summary: 'report a measured round trip from a client region to a cluster (overrides the configured figure)',
  usage: 'report --region <name> --cluster <name> --rtt-ms <ms>',
  options: {
    region: { type: 'string', description: 'client region the round trip was measured from' },
    cluster: { type: 'string', description: 'cluster it was measured to' },
    'rtt-ms': { type: 'string', description: 'measured round trip in milliseconds (0-60000)' },
    'timeout-ms': { type: 'string', default: '5000', description: 'how long to wait for the scheduler' },
  },
  async run(values, positionals) {
    const report = latencyReportFromOptions(values, positionals);
    const timeout = intOption(values, 'timeout-ms', 1, 600_000);
    const nc = await connectNats(values);
    try {
      const reply = await nc.request(subjects.adminLatency, encode(report), { timeout });
      const decoded = decode(LatencyReportResponse, reply.data);
      if (!decoded.ok) throw new Error(`invalid reply: ${decoded.error.message}`);
      if (!decoded.value.ok) {
        console.error(`${decoded.value.error.code}: ${decoded.value.error.message}`);
        return 1;
      }
      const [sample] = report.samples;
      const route = `${sample?.region ?? ''} → ${sample?.cluster ?? ''}`;
      if (decoded.value.applied === 0) {
        // The scheduler drops samples for regions it is not configured with and clusters it has never seen.
        console.error(`${route}: ignored by the scheduler (region or cluster not in its topology)`);
        return 1;
      }
      console.log(`${route}: ${sample?.rttMs ?? 0} ms applied`);
      return 0;
    } finally {
      await nc.close();
    }
  },
};
