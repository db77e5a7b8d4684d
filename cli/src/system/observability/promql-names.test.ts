import { describe, expect, it } from 'vitest';
import { metricNamesIn, selectorsIn } from './promql-names.js';

describe('metricNamesIn', () => {
  it.each([
    ['a bare name', 'switchyard_leader', ['switchyard_leader']],
    [
      'a name at the end after an operator',
      'sum(switchyard_leader) == 0 or absent(switchyard_leader)',
      ['switchyard_leader'],
    ],
    ['a name before a range', 'rate(switchyard_heartbeats_total[5m])', ['switchyard_heartbeats_total']],
    [
      'a name before matchers, with label names and values left out',
      'switchyard_nodes{cluster=~"fra|iad", state!="dead"}',
      ['switchyard_nodes'],
    ],
    [
      'aggregations with by/without lists before and after the body',
      'sum by (slo_class, le) (rate(x_bucket[5m])) / sum(y) without (instance)',
      ['x_bucket', 'y'],
    ],
    [
      'vector matching modifiers',
      'a * on (instance, job) group_left (node) b and ignoring(state) c unless on() d',
      ['a', 'b', 'c', 'd'],
    ],
    ['group_left without a list', 'a * on (instance) group_left b', ['a', 'b']],
    [
      'histogram_quantile, numbers in every notation, bool and offset',
      'histogram_quantile(0.99, rate(h_bucket[5m] offset 1h30m)) > bool 1e-3 + 0x1F + .5 + Inf - NaN',
      ['h_bucket'],
    ],
    [
      'recording rule names with colons',
      'switchyard:slo_attainment:ratio_rate5m{slo_class="interactive"}',
      ['switchyard:slo_attainment:ratio_rate5m'],
    ],
    ['a subquery', 'max_over_time(rate(x_total[1m])[10m:30s])', ['x_total']],
    [
      'strings of every quote, even with words that look like metrics',
      'label_replace(up, "dst", "$1 sum(fake)", \'src\', `(.*)`) or count_values("value", z)',
      ['up', 'z'],
    ],
    ['a name only through __name__', '{__name__="switchyard_sessions", state="active"}', ['switchyard_sessions']],
    ['__name__ by regex selects no single name', '{__name__=~"switchyard_.+"}', []],
    ['Grafana variables outside strings', 'topk($limit, x[$__rate_interval])', ['x']],
    ['functions spaced from their parenthesis', 'sum (rate (x[5m])) by (cluster)', ['x']],
    ['a repeated name once', 'a / (a + b) > a', ['a', 'b']],
    ['@ modifiers', 'x @ start() + y @ 1700000000', ['x', 'y']],
    ['comments', 'x # not_a_metric here\n+ y', ['x', 'y']],
  ])('finds %s', (_case, expr, expected) => {
    expect(metricNamesIn(expr)).toEqual(expected);
  });
});

describe('selectorsIn', () => {
  it('pairs each selector with the label names its matchers use', () => {
    expect(
      selectorsIn(
        'sum by (cluster) (rate(e_total{cluster=~"$cluster", node!=""}[5m])) / on(cluster) t{kind="output"} + u',
      ),
    ).toEqual([
      { name: 'e_total', labels: ['cluster', 'node'] },
      { name: 't', labels: ['kind'] },
      { name: 'u', labels: [] },
    ]);
  });

  it('reads matchers that contain braces, commas and escaped quotes inside their values', () => {
    expect(selectorsIn('m{a="x}{,y", b=~"q\\"z", c!~\'{\'}')).toEqual([{ name: 'm', labels: ['a', 'b', 'c'] }]);
  });

  it('reads the series notation of promtool test inputs', () => {
    expect(selectorsIn('switchyard_nodes{cluster="fra", state="ready", instance="s:9464"}')).toEqual([
      { name: 'switchyard_nodes', labels: ['cluster', 'state', 'instance'] },
    ]);
  });
});
