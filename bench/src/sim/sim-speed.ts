/**
 * `node bench/dist/sim/sim-speed.js [--requests 200000] [--nodes 12]`
 *
 * How fast the simulator runs: a Poisson stream of mixed requests (50 per simulated second) over a
 * two-cluster h100 + trn2 fleet, reported as simulated requests per minute of wall time (issue 6
 * asks for at least 1,000,000).
 */
import { parseArgs } from 'node:util';
import { mixedPoissonStream } from './mixed-stream.js';
import { simulate } from './simulator.js';

function main(): void {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '200000' }, nodes: { type: 'string', default: '12' } },
  });
  const count = Number(values.requests);
  const perCluster = Math.max(1, Math.floor(Number(values.nodes) / 2));
  const requests = mixedPoissonStream(count, 20);
  const started = performance.now();
  const result = simulate({
    topology: {
      clusters: [
        // Room for every node busy: the speed run measures the engine, not the power policy.
        { name: 'fra', location: 'Frankfurt', powerBudgetWatts: perCluster * 6_000 },
        { name: 'iad', location: 'Ashburn', powerBudgetWatts: perCluster * 6_000 },
      ],
      regions: [],
    },
    groups: [
      { cluster: 'fra', profile: 'h100', count: perCluster, models: ['llama-3.1-8b'] },
      { cluster: 'iad', profile: 'trn2', count: perCluster, models: ['llama-3.1-8b'] },
    ],
    requests,
    seed: 1,
  });
  const wallMs = performance.now() - started;
  const served = result.outcomes.filter((o) => o.refused === undefined).length;
  console.log(
    `simulated ${count} requests (${served} served) over ${(result.simulatedMs / 1000).toFixed(0)} s of virtual time ` +
      `on ${result.nodes} nodes in ${wallMs.toFixed(0)} ms: ${((count / wallMs) * 60_000).toFixed(0)} requests per wall minute`,
  );
}

main();
