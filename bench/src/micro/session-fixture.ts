import type { SessionRecord } from '@switchyard/protocol';
import { SessionRegistry } from '@switchyard/scheduler';

/**
 * A registry of `count` open sessions spread over `nodeIds` (round robin) and 50 tenants; with
 * `ownerlessEvery`, one in that many has no owner, as after a node loss.
 */
export function sessionRegistryOf(count: number, nodeIds: readonly string[], ownerlessEvery = 0): SessionRegistry {
  const registry = new SessionRegistry();
  for (let i = 0; i < count; i++) {
    const record: SessionRecord = {
      v: 1,
      sessionId: `s${i}`,
      tenant: `t${i % 50}`,
      model: 'llama-3.1-8b',
      state: 'open',
      ownerNodeId: ownerlessEvery > 0 && i % ownerlessEvery === 0 ? null : nodeIds[i % nodeIds.length]!,
      contextTokens: 2_000,
      expectedContextTokens: 8_000,
      turns: 3,
      createdAtMs: 0,
      turnSubject: `sy.v1.tenant.t${i % 50}.session.s${i}.turn`,
    };
    registry.put(record, 1);
  }
  return registry;
}
