import { BatchClient } from '@switchyard/protocol';
import { type Command, connectNats, intOption, stringOption, UsageError } from '../command.js';

export const batchCommand: Command = {
  name: 'batch',
  summary: 'submit durable batches and read their status and results',
  usage: '<submit|status|results> [batch-id]',
  options: {
    tenant: { type: 'string', env: 'SWITCHYARD_TENANT', default: 'default', description: 'tenant (subject token)' },
    model: { type: 'string', default: 'llama-3.1-8b', description: 'submit: model of every item' },
    count: { type: 'string', default: '10', description: 'submit: number of items (1-1000)' },
    'input-tokens': { type: 'string', default: '512', description: 'submit: prompt tokens per item' },
    'max-output-tokens': { type: 'string', default: '128', description: 'submit: output limit per item' },
    'deadline-ms': { type: 'string', default: '3600000', description: 'submit: items not done by then fail' },
    'idempotency-key': { type: 'string', description: 'submit: resubmitting with the same key is the same batch' },
  },
  async run(values, positionals) {
    const [verb, batchId] = positionals;
    if (verb !== 'submit' && verb !== 'status' && verb !== 'results')
      throw new UsageError('expected submit, status or results');
    if (verb !== 'submit' && batchId === undefined) throw new UsageError(`batch ${verb} needs a batch id`);
    const nc = await connectNats(values);
    try {
      const client = new BatchClient(nc, stringOption(values, 'tenant'));
      if (verb === 'submit') {
        const count = intOption(values, 'count', 1, 1000);
        const item = {
          inputTokens: intOption(values, 'input-tokens', 1, 2_000_000),
          maxOutputTokens: intOption(values, 'max-output-tokens', 1, 2_000_000),
        };
        const key = values['idempotency-key'];
        console.log(
          JSON.stringify(
            await client.submit({
              model: stringOption(values, 'model'),
              items: Array.from({ length: count }, () => item),
              deadlineAfterMs: intOption(values, 'deadline-ms', 1000, 7 * 24 * 3_600_000),
              ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
            }),
            null,
            2,
          ),
        );
      } else if (verb === 'status') {
        console.log(JSON.stringify(await client.status(batchId ?? ''), null, 2));
      } else {
        console.log(JSON.stringify(await client.results(batchId ?? ''), null, 2));
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
