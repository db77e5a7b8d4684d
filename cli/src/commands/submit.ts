import {
  decode,
  encode,
  InferReply,
  type InferRequestInput,
  RemoteError,
  streamInfer,
  subjects,
} from '@switchyard/protocol';
import { type Command, connectNats, intOption, stringOption } from '../command.js';

export const submitCommand: Command = {
  name: 'submit',
  summary: 'send one inference request through the scheduler and print the answer as JSON',
  options: {
    model: { type: 'string', default: 'llama-3.1-8b', description: 'model name' },
    'input-tokens': { type: 'string', default: '512', description: 'prompt length in tokens' },
    'max-output-tokens': { type: 'string', default: '128', description: 'output length limit in tokens' },
    priority: { type: 'string', default: 'normal', description: 'high, normal or low' },
    'deadline-ms': { type: 'string', description: 'fail with DEADLINE_EXCEEDED after this long' },
    'idempotency-key': { type: 'string', description: 'retries with the same key are answered once' },
    tenant: { type: 'string', env: 'SWITCHYARD_TENANT', default: 'default', description: 'tenant (subject token)' },
    'timeout-ms': { type: 'string', default: '60000', description: 'how long to wait for the answer' },
    prompt: { type: 'string', description: 'prompt text (real model servers; simulated nodes use --input-tokens)' },
    stream: {
      type: 'boolean',
      description: 'print the text to stdout as it is generated, then the result (without its text) as JSON on stderr',
    },
  },
  async run(values) {
    const request: InferRequestInput = {
      v: 1,
      model: stringOption(values, 'model'),
      inputTokens: intOption(values, 'input-tokens', 1, 2_000_000),
      maxOutputTokens: intOption(values, 'max-output-tokens', 1, 2_000_000),
      priority: stringOption(values, 'priority') as InferRequestInput['priority'],
    };
    if (typeof values['deadline-ms'] === 'string')
      request.deadlineAfterMs = intOption(values, 'deadline-ms', 1, 7 * 24 * 3_600_000);
    if (typeof values['idempotency-key'] === 'string') request.idempotencyKey = values['idempotency-key'];
    if (typeof values['prompt'] === 'string') request.prompt = values['prompt'];
    const nc = await connectNats(values);
    try {
      if (values['stream'] === true) {
        const started = performance.now();
        const { v: _v, ...body } = request;
        try {
          const result = await streamInfer(nc, body, {
            tenant: stringOption(values, 'tenant'),
            idleTimeoutMs: intOption(values, 'timeout-ms', 1, 3_600_000),
            onText: (text) => process.stdout.write(text),
          });
          const { text: _text, ...rest } = result;
          process.stdout.write('\n');
          console.error(
            JSON.stringify({ ...rest, clientElapsedMs: Math.round((performance.now() - started) * 10) / 10 }),
          );
          return 0;
        } catch (err) {
          if (!(err instanceof RemoteError)) throw err;
          console.error(JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }));
          return 1;
        }
      }
      const started = performance.now();
      const reply = await nc.request(subjects.infer(stringOption(values, 'tenant')), encode(request), {
        timeout: intOption(values, 'timeout-ms', 1, 3_600_000),
      });
      const elapsedMs = performance.now() - started;
      const decoded = decode(InferReply, reply.data);
      if (!decoded.ok) {
        console.error(`invalid reply: ${decoded.error.message}`);
        return 1;
      }
      console.log(JSON.stringify({ ...decoded.value, clientElapsedMs: Math.round(elapsedMs * 10) / 10 }, null, 2));
      return decoded.value.ok ? 0 : 1;
    } finally {
      await nc.close();
    }
  },
};
