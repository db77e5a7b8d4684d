/**
 * Scheduler memory per idle session: fills the scheduler's SessionRegistry with decoded records,
 * exactly as a scheduler loading them from the store holds them, and measures the heap it grew.
 * Usage: node --expose-gc bench/dist/sessions/session-memory.js [--sessions=100000]
 */
import { decode, encode, SessionRecord, subjects } from '@switchyard/protocol';
import { SessionRegistry } from '@switchyard/scheduler';

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Bytes of heap per session held in a registry of `count` sessions spread over 2,000 nodes. */
export function measureSessionMemory(count: number): { sessions: number; bytesPerSession: number } {
  const registry = new SessionRegistry();
  const before = heapUsed();
  for (let i = 0; i < count; i++) {
    const sessionId = `s-${i.toString(16).padStart(12, '0')}`;
    const tenant = `tenant-${i % 50}`;
    // Round-trip through the codec: the registry holds what the store's bytes decode to.
    const decoded = decode(
      SessionRecord,
      encode({
        v: 1,
        sessionId,
        tenant,
        model: i % 3 === 0 ? 'llama-3.3-70b' : 'llama-3.1-8b',
        state: 'open',
        ownerNodeId: `node-${i % 2000}`,
        contextTokens: 1000 + (i % 5000),
        expectedContextTokens: 8192,
        turns: i % 40,
        createdAtMs: 1_795_000_000_000 + i,
        turnSubject: subjects.sessionTurnBase(tenant, sessionId),
      }),
    );
    if (!decoded.ok) throw new Error(decoded.error.message);
    registry.put(decoded.value, i + 1);
  }
  const after = heapUsed();
  if (registry.size !== count) throw new Error('registry lost sessions');
  return { sessions: count, bytesPerSession: (after - before) / count };
}

const argv = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const count = Number(argv.find((a) => a.startsWith('--sessions='))?.split('=')[1] ?? 100_000);
  const result = measureSessionMemory(count);
  console.log(`${result.sessions} idle sessions: ${Math.round(result.bytesPerSession)} bytes each (target ≤ 1024)`);
}
