/**
 * The other hot paths of issue 6's list: session lookup (every turn finds its session and owner in
 * the registry; a node's death lists the sessions it owned) and admission (fair-share tags between
 * tenants for every queued request; the saturation verdict with its retry-after hint for every
 * request that finds its class queue busy).
 */
import { FairShare, judgeSaturation } from '@switchyard/scheduler';
import { sessionRegistryOf } from './session-fixture.js';
import { selected, shortCount, type MicroCase, type SuiteOptions, type SuitePlan } from './runner.js';

export const SESSIONS_ADMISSION_SUITE = 'sessions-admission';
const DEFAULT_SESSIONS = 100_000;
const NODES = 1_000;
const TENANTS = 1_000;
/** Operations per timed call: each takes well under a microsecond, below what one timing resolves. */
const BATCH = 64;

export function planSessionsAdmissionSuite(options: SuiteOptions): SuitePlan {
  const sessions = options.nodeCounts?.[0] ?? DEFAULT_SESSIONS;
  const names = {
    lookup: `session lookup by id among ${shortCount(sessions)} sessions`,
    owned: `sessions owned by one node (${shortCount(sessions)} sessions on ${shortCount(NODES)} nodes)`,
    fair: `fair share: tag and serve one request, ${shortCount(TENANTS)} tenants`,
    saturated: 'saturation verdict with a retry-after hint (queue busy)',
  };
  const cases: MicroCase[] = [];
  const checks: Record<string, number | string> = {};
  if (
    selected(options, SESSIONS_ADMISSION_SUITE, names.lookup) ||
    selected(options, SESSIONS_ADMISSION_SUITE, names.owned)
  ) {
    const registry = sessionRegistryOf(
      sessions,
      Array.from({ length: NODES }, (_, i) => `n${i}`),
    );
    checks['sessions'] = registry.size;
    const ids = Array.from({ length: 4096 }, (_, i) => `s${Math.floor((i * 7919) % sessions)}`);
    let i = 0;
    let n = 0;
    cases.push(
      {
        suite: SESSIONS_ADMISSION_SUITE,
        name: names.lookup,
        opsPerCall: BATCH,
        // The results are used, so that the compiler cannot drop the lookups.
        fn: () => {
          let revisions = 0;
          for (let b = 0; b < BATCH; b++) revisions += registry.get(ids[i++ & 4095]!)?.revision ?? 0;
          return revisions;
        },
      },
      {
        suite: SESSIONS_ADMISSION_SUITE,
        name: names.owned,
        opsPerCall: BATCH,
        fn: () => {
          let owned = 0;
          for (let b = 0; b < BATCH; b++) owned += registry.ownedBy(`n${n++ % NODES}`).length;
          return owned;
        },
      },
    );
  }
  const fair = new FairShare((tenant) => (tenant.endsWith('7') ? 4 : 1));
  let t = 0;
  cases.push({
    suite: SESSIONS_ADMISSION_SUITE,
    name: names.fair,
    opsPerCall: BATCH,
    fn: () => {
      for (let b = 0; b < BATCH; b++) {
        const tenant = `t${t++ % TENANTS}`;
        fair.served(tenant, fair.enqueue(tenant));
      }
    },
  });
  let k = 0;
  const bounds = { minRetryAfterMs: 100, maxRetryAfterMs: 30_000, fallbackRetryAfterMs: 1_000 };
  cases.push({
    suite: SESSIONS_ADMISSION_SUITE,
    name: names.saturated,
    opsPerCall: BATCH,
    fn: () => {
      let hints = 0;
      for (let b = 0; b < BATCH; b++) {
        const verdict = judgeSaturation(
          {
            sloClass: 'standard',
            waiting: 500 + (k++ & 1023),
            maxQueued: 1_000,
            mustWait: true,
            ahead: k & 511,
            intervalMs: 2 + (k & 7),
            remainingMs: 30_000,
          },
          bounds,
        );
        if (!verdict.ok) hints += verdict.retryAfterMs;
      }
      return hints;
    },
  });
  return {
    suite: SESSIONS_ADMISSION_SUITE,
    cases: cases.filter((c) => selected(options, c.suite, c.name)),
    checks,
  };
}
