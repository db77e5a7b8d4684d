/**
 * How the plan's renderers (HTML and Markdown) write numbers: units spelled out, no more digits
 * than the simulation can stand behind, and a dash where there is no figure. Both renderers use
 * these so a number reads the same in either report.
 */
import type { FleetMix } from './plan-report.js';

/** Written where a figure does not exist (no served requests, no requests of a class). */
export const NO_FIGURE = '–';

/** An integer count with thousands separators: `12,480`. */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return NO_FIGURE;
  return Math.round(count).toLocaleString('en-US');
}

/** A count with its noun, singular for one: `1 node`, `12 nodes`. */
export function formatNodes(count: number): string {
  return `${formatCount(count)} ${count === 1 ? 'node' : 'nodes'}`;
}

/** A duration in the unit that reads best, to about three significant digits: `4.2 ms`, `412 ms`, `1.24 s`, `3.5 min`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return NO_FIGURE;
  const size = Math.abs(ms);
  // Thresholds sit where rounding would carry into the next unit (999.6 ms is 1.00 s, not 1000 ms).
  if (size < 9.95) return `${ms.toFixed(1)} ms`;
  if (size < 999.5) return `${Math.round(ms)} ms`;
  if (size < 9_995) return `${(ms / 1_000).toFixed(2)} s`;
  if (size < 59_950) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = ms / 60_000;
  if (Math.abs(minutes) < 9.95) return `${minutes.toFixed(1)} min`;
  if (Math.abs(minutes) < 119.5) return `${Math.round(minutes)} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}

/**
 * A share (0..1) as a percentage with one decimal. A share short of all or above none never rounds
 * to 100.0% or 0.0%: a buyer reading "100.0%" would take it for every request.
 */
export function formatPercent(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return NO_FIGURE;
  const text = (100 * share).toFixed(1);
  if (share < 1 && text === '100.0') return '>99.9%';
  if (share > 0 && text === '0.0') return '<0.1%';
  return `${text}%`;
}

/** A relative difference (0.042 → `+4.2%`, −0.1 → `−10.0%`), always signed. */
export function formatSignedPercent(share: number): string {
  if (!Number.isFinite(share)) return NO_FIGURE;
  const text = Math.abs(100 * share).toFixed(1);
  if (text === '0.0') return '±0.0%';
  return `${share < 0 ? '−' : '+'}${text}%`;
}

/** Power: `8,450 W` below 10 kW, then `24.1 kW`, then `12.3 MW`. */
export function formatWatts(watts: number): string {
  if (!Number.isFinite(watts)) return NO_FIGURE;
  const size = Math.abs(watts);
  if (size >= 9_999_500) return `${(watts / 1_000_000).toFixed(1)} MW`;
  if (size >= 9_999.5) return `${(watts / 1_000).toFixed(1)} kW`;
  return `${Math.round(watts).toLocaleString('en-US')} W`;
}

/** Energy to about three significant digits: `4.27 J`, `42.7 J`, `427 J`, `4,270 J`. */
export function formatJoules(joules: number): string {
  if (!Number.isFinite(joules)) return NO_FIGURE;
  const size = Math.abs(joules);
  if (size < 9.995) return `${joules.toFixed(2)} J`;
  if (size < 99.95) return `${joules.toFixed(1)} J`;
  return `${Math.round(joules).toLocaleString('en-US')} J`;
}

/** A fleet's node groups by cluster: `fra: 24 × h100, 8 × trn2; iad: 16 × l4`. */
export function formatNodeMix(mix: FleetMix): string {
  const byCluster = new Map<string, string[]>();
  for (const group of mix.groups) {
    const groups = byCluster.get(group.cluster) ?? [];
    groups.push(`${formatCount(group.count)} × ${group.profile}`);
    byCluster.set(group.cluster, groups);
  }
  if (byCluster.size === 0) return 'no nodes';
  return [...byCluster].map(([cluster, groups]) => `${cluster}: ${groups.join(', ')}`).join('; ');
}
