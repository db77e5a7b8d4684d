import { describe, expect, it } from 'vitest';
import { parseExposition, renderMetrics } from './demo-metrics.js';

const SCHEDULER = `# HELP switchyard_placements_total x
# TYPE switchyard_placements_total counter
switchyard_placements_total{slo_class="interactive",outcome="placed"} 10
switchyard_placements_total{slo_class="interactive",outcome="no_capacity"} 2
switchyard_placement_duration_seconds_bucket{le="0.00001",slo_class="interactive"} 3
switchyard_placement_duration_seconds_bucket{le="0.000025",slo_class="interactive"} 8
switchyard_placement_duration_seconds_bucket{le="0.001",slo_class="interactive"} 9
switchyard_placement_duration_seconds_bucket{le="+Inf",slo_class="interactive"} 10
switchyard_placement_duration_seconds_sum{slo_class="interactive"} 0.0002
switchyard_placement_duration_seconds_count{slo_class="interactive"} 10
switchyard_heartbeats_total{outcome="applied"} 42
switchyard_leader 1
`;
const AGENTS = `switchyard_node_slo_total{node="a",cluster="c",profile="h100",slo_class="interactive",result="met"} 3
switchyard_node_slo_total{node="b",cluster="c",profile="h100",slo_class="interactive",result="missed"} 1
switchyard_node_energy_joules_total{node="a",cluster="c",profile="h100"} 500
switchyard_node_tokens_total{node="a",cluster="c",profile="h100",kind="output"} 250
switchyard_node_tokens_total{node="a",cluster="c",profile="h100",kind="prompt"} 9999
`;

describe('demo metrics', () => {
  it('parses samples with their labels, skipping comments', () => {
    const samples = parseExposition(SCHEDULER);
    expect(samples).toHaveLength(10);
    expect(samples[0]).toEqual({
      name: 'switchyard_placements_total',
      labels: { slo_class: 'interactive', outcome: 'placed' },
      value: 10,
    });
    expect(samples.at(-1)).toEqual({ name: 'switchyard_leader', labels: {}, value: 1 });
  });

  it('renders placements, decision time quantiles, SLO attainment at the node and energy per output token', () => {
    const text = renderMetrics(parseExposition(SCHEDULER), parseExposition(AGENTS));
    expect(text).toMatch(/interactive +10 +≤ 25 µs +> largest bucket +75\.0%/);
    expect(text).toMatch(/standard +0 +— +— +—/);
    expect(text).toContain('0.5 kJ for 250 output tokens (2.00 J/token); heartbeats applied 42');
  });
});
