import type { Msg } from '@nats-io/transport-node';
import { decode, ErrorReply } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { guardedHandler } from './guarded-handler.js';

function message(reply?: string): { msg: Msg; answers: Uint8Array[] } {
  const answers: Uint8Array[] = [];
  const msg = {
    subject: 'sy.v1.node.n-1.assign',
    reply,
    respond: (data: Uint8Array) => {
      answers.push(data);
      return true;
    },
  } as unknown as Msg;
  return { msg, answers };
}

function recordingLog() {
  const errors: object[] = [];
  return { errors, log: { error: (fields: object) => void errors.push(fields) } };
}

describe('guardedHandler', () => {
  it('answers a request whose handler throws with INTERNAL, and logs it, instead of throwing into nats.js', () => {
    const { errors, log } = recordingLog();
    const { msg, answers } = message('_INBOX.sched.a.1');
    const callback = guardedHandler(
      'assign',
      () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
      log,
    );
    expect(() => callback(null, msg)).not.toThrow();
    expect(answers).toHaveLength(1);
    expect(decode(ErrorReply, answers[0]!)).toMatchObject({ ok: true, value: { error: { code: 'INTERNAL' } } });
    expect(errors).toEqual([
      { subject: 'sy.v1.node.n-1.assign', handler: 'assign', err: 'Maximum call stack size exceeded' },
    ]);
  });

  it('catches a rejected promise (it would end the process) and answers it the same way', async () => {
    const { errors, log } = recordingLog();
    const { msg, answers } = message('_INBOX.sched.a.2');
    guardedHandler('power', () => Promise.reject(new Error('driver gone')), log)(null, msg);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('only logs a failed fire-and-forget message, and ignores subscription errors', () => {
    const { errors, log } = recordingLog();
    const { msg, answers } = message(undefined);
    const callback = guardedHandler(
      'notice',
      () => {
        throw new Error('bad');
      },
      log,
    );
    callback(null, msg);
    callback(new Error('permissions violation'), msg);
    expect(answers).toEqual([]);
    expect(errors).toHaveLength(1);
  });
});
