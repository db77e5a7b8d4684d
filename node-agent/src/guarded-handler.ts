import type { Msg } from '@nats-io/transport-node';
import { encode, errorReply } from '@switchyard/protocol';

/** Where a handler failure is logged. */
export interface HandlerFailureLog {
  error(fields: object, message: string): void;
}

/**
 * A NATS subscription callback that can never throw into nats.js: a throw there ends the
 * connection's read loop (the agent would go deaf while its heartbeats still go out), and a
 * rejected promise would end the process. A failure is logged and, for a request, answered INTERNAL.
 */
export function guardedHandler(
  what: string,
  handle: (msg: Msg) => unknown,
  log: HandlerFailureLog,
): (err: Error | null, msg: Msg) => void {
  const failed = (msg: Msg, cause: unknown): void => {
    log.error(
      { subject: msg.subject, handler: what, err: cause instanceof Error ? cause.message : String(cause) },
      'message handler failed',
    );
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encode(errorReply('INTERNAL', `the node could not handle this ${what} message`)));
    } catch {
      // The connection is closing: nothing more to tell.
    }
  };
  return (err, msg) => {
    if (err !== null) return;
    try {
      const outcome = handle(msg);
      if (outcome instanceof Promise) outcome.catch((cause: unknown) => failed(msg, cause));
    } catch (cause) {
      failed(msg, cause);
    }
  };
}
