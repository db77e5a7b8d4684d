import type { Assignment } from '@switchyard/protocol';

/** The tiny assignment the overhead benchmarks send straight to an agent (null backend: no model time). */
export function probeAssignment(model: string, requestId: string, replyTo: string): Assignment {
  return {
    v: 1,
    requestId,
    attempt: 1,
    tenant: 'bench',
    model,
    inputTokens: 16,
    maxOutputTokens: 4,
    priority: 'normal',
    sloClass: 'interactive',
    replyTo,
  };
}
