import {
  decode,
  errorReply,
  type ErrorReply,
  PROTOCOL_VERSION,
  PowerLimitCommand,
  type PowerLimitAck,
} from '@switchyard/protocol';
import type { ExecutionBackend } from './backends/backend.js';
import type { HardwarePowerLimiter } from './hardware/power-limiter.js';
import type { AgentLogger } from './node-agent.js';

/** What applying a power limit needs from the node it runs on. */
export interface PowerLimitTarget {
  readonly nodeId: string;
  readonly backend: Pick<ExecutionBackend, 'setPowerLimit' | 'status'>;
  readonly log: AgentLogger;
  /** Whether the node has stopped (its backend is closed; a limit would apply to nothing). */
  readonly stopped: boolean;
  /** Applies the limit to the real devices first (nvidia-smi -pl); the backend then runs under what they took. */
  readonly hardware?: HardwarePowerLimiter;
}

/**
 * `sy.v1.node.<nodeId>.power`: decodes the scheduler's command, applies it through the backend and
 * builds the reply. Never throws: a bad body, a stopped node or a backend that refuses the limit
 * become typed error replies. The ack carries the limit after clamping, which is what the next
 * heartbeat reports, so the scheduler can tell a clamp from a lost command.
 */
export async function applyPowerLimit(data: Uint8Array, target: PowerLimitTarget): Promise<PowerLimitAck | ErrorReply> {
  const decoded = decode(PowerLimitCommand, data);
  if (!decoded.ok) {
    target.log.warn(
      { nodeId: target.nodeId, code: decoded.error.code, err: decoded.error.message },
      'invalid power limit command refused',
    );
    return { v: PROTOCOL_VERSION, ok: false, error: decoded.error };
  }
  const command = decoded.value;
  if (target.stopped) return errorReply('NODE_DRAINING', `node ${target.nodeId} has stopped`);
  let previousWatts: number;
  let appliedWatts: number;
  try {
    previousWatts = target.backend.status().powerLimitWatts;
    const onDevices = target.hardware === undefined ? command.limitWatts : await target.hardware(command.limitWatts);
    appliedWatts = target.backend.setPowerLimit(onDevices);
  } catch (err) {
    // A real backend (a driver call) can fail; the scheduler should hear why, not wait for a timeout.
    const message = `node ${target.nodeId} could not apply a ${command.limitWatts} W power limit: ${err instanceof Error ? err.message : String(err)}`;
    target.log.error({ nodeId: target.nodeId, requestedWatts: command.limitWatts, reason: command.reason }, message);
    return errorReply('INTERNAL', message);
  }
  target.log.info(
    {
      nodeId: target.nodeId,
      requestedWatts: command.limitWatts,
      appliedWatts,
      previousWatts,
      clamped: appliedWatts !== command.limitWatts,
      reason: command.reason,
    },
    'power limit applied',
  );
  return { v: PROTOCOL_VERSION, ok: true, nodeId: target.nodeId, appliedWatts };
}
