import {
  ClusterBudgetResponse,
  ClusterBudgetUpdate,
  type ClusterPower,
  decode,
  describeIssues,
  encode,
  subjects,
} from '@switchyard/protocol';
import { formatTable } from '@switchyard/bench';
import {
  type Command,
  connectNats,
  intOption,
  numberOption,
  type OptionValues,
  stringOption,
  UsageError,
} from '../command.js';

/** Watts with thousands separators, no decimals: cluster budgets are kilowatts to megawatts. */
export function formatWatts(watts: number): string {
  return Math.round(watts).toLocaleString('en-US');
}

/** A table of cluster power accounts, as `status`, `explain` and `power budget` print them. */
export function formatClusterPower(power: readonly ClusterPower[]): string {
  return formatTable(
    ['cluster', 'stage', 'committed W', 'measured W', 'budget W', 'margin', 'used'],
    power.map((p) => [
      p.cluster,
      p.stage,
      formatWatts(p.committedWatts),
      formatWatts(p.measuredWatts),
      formatWatts(p.budgetWatts),
      `${Math.round(p.safetyMargin * 1000) / 10}%`,
      p.budgetWatts > 0 ? `${Math.round((100 * p.committedWatts) / p.budgetWatts)}%` : '–',
    ]),
  );
}

/** The ClusterBudgetUpdate that `switchyard power budget …` sends; bad flags are usage errors. */
export function budgetUpdateFromOptions(values: OptionValues, positionals: readonly string[]): ClusterBudgetUpdate {
  const [verb, ...extra] = positionals;
  if (verb !== 'budget' || extra.length > 0) {
    throw new UsageError('expected: switchyard power budget --cluster <name> --watts <W> [--safety-margin <fraction>]');
  }
  const update: ClusterBudgetUpdate = {
    v: 1,
    cluster: stringOption(values, 'cluster'),
    budgetWatts: numberOption(values, 'watts', 1, 1e12),
  };
  if (typeof values['safety-margin'] === 'string') update.safetyMargin = numberOption(values, 'safety-margin', 0, 0.5);
  const checked = ClusterBudgetUpdate.safeParse(update);
  if (!checked.success) throw new UsageError(describeIssues(checked.error.issues));
  return checked.data;
}

export const powerCommand: Command = {
  name: 'power',
  summary: "change a cluster's power budget at run time (e.g. a grid event)",
  usage: 'budget --cluster <name> --watts <W> [--safety-margin <fraction>]',
  options: {
    cluster: { type: 'string', description: 'the cluster whose budget changes' },
    watts: { type: 'string', description: 'the new power budget in watts' },
    'safety-margin': {
      type: 'string',
      description: 'fraction of the budget kept free for prediction error, 0-0.5 (unchanged when omitted)',
    },
    json: { type: 'boolean', description: 'print the raw reply as JSON' },
    'timeout-ms': { type: 'string', default: '5000', description: 'how long to wait for the scheduler' },
  },
  async run(values, positionals) {
    const update = budgetUpdateFromOptions(values, positionals);
    const timeout = intOption(values, 'timeout-ms', 1, 600_000);
    const nc = await connectNats(values);
    try {
      const reply = await nc.request(subjects.adminPowerBudget, encode(update), { timeout });
      const decoded = decode(ClusterBudgetResponse, reply.data);
      if (!decoded.ok) throw new Error(`invalid reply: ${decoded.error.message}`);
      if (!decoded.value.ok) {
        console.error(`${decoded.value.error.code}: ${decoded.value.error.message}`);
        return 1;
      }
      if (values['json'] === true) console.log(JSON.stringify(decoded.value, null, 2));
      else console.log(formatClusterPower([decoded.value.power]));
      return 0;
    } finally {
      await nc.close();
    }
  },
};
