/**
 * Inline SVG charts for the plan report: pure functions from figures to an SVG string, with no
 * script and nothing fetched, so a report is one file that works offline and prints. Every name is
 * escaped (policy and cluster names come from user files), and every coordinate is checked finite
 * before it is written: a NaN in an attribute makes a browser drop the shape without a word.
 * Each series' shape carries `data-series="<name>"` so tests can count what was drawn.
 */
import { place, scaleFor } from './chart-scales.js';

/** Okabe–Ito colours, ordered for contrast on white; yellow last as it is faint on paper. */
export const SERIES_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
/** Dash patterns, a second cue beside colour for grey print and colour-blind readers. */
export const SERIES_DASHES = ['', '8 3', '2 3', '10 3 2 3', '5 5'];

const FONT_PX = 12;
/** Average advance of a 12 px sans-serif character, for laying out legends and labels. */
const CHAR_PX = 6.8;
const TEXT = '#1d232b';
const MUTED = '#5f6b78';
const GRID = '#e3e7ec';
/** White halo behind labels that may sit on lines. */
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

/** Escapes text for SVG/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A coordinate or length for an attribute; throws rather than write NaN or Infinity. */
function px(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`chart coordinate is ${value}: a non-finite value reached layout`);
  return String(Math.round(value * 10) / 10);
}

/** Text cut to `maxChars` with an ellipsis; the full text stays in a `<title>`. */
function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`;
}

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface LineSeries {
  readonly name: string;
  readonly colour: string;
  /** SVG stroke-dasharray; empty or absent for a solid line. */
  readonly dash?: string;
  /** Points in x order; a point with a non-finite coordinate breaks the line there. */
  readonly points: readonly ChartPoint[];
}

export interface ChartAxis {
  readonly label: string;
  readonly format: (value: number) => string;
  /** `log` plots only positive values; others break the line like NaN. */
  readonly scale?: 'linear' | 'log';
  /** The axis spans at least min..max; data outside widens it rather than being cut off. */
  readonly min?: number;
  readonly max?: number;
}

/** A dashed line across the plot at a value of one axis (a power budget, an SLO target). */
export interface ReferenceLine {
  readonly axis: 'x' | 'y';
  readonly value: number;
  readonly label: string;
}

export interface LineChartSpec {
  /** Read by screen readers and shown on hover; also the chart's heading in the SVG. */
  readonly title: string;
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  readonly series: readonly LineSeries[];
  /** A y reference widens the y axis to show it; an x reference is drawn only within the data. */
  readonly references?: readonly ReferenceLine[];
  readonly width?: number;
  readonly plotHeight?: number;
}

/** One series' path data: a gap at each unplottable point, a dot for a point standing alone. */
function pathData(points: readonly (readonly [number, number] | undefined)[]): string {
  const parts: string[] = [];
  let runLength = 0;
  for (const point of points) {
    if (point === undefined) {
      if (runLength === 1) parts.push('h0');
      runLength = 0;
      continue;
    }
    parts.push(`${runLength === 0 ? 'M' : 'L'}${px(point[0])} ${px(point[1])}`);
    runLength++;
  }
  if (runLength === 1) parts.push('h0');
  return parts.join(' ');
}

interface LegendEntry {
  readonly name: string;
  readonly colour: string;
  readonly dash: string;
  readonly empty: boolean;
}

/** Legend entries wrapped into rows across `width`; returns the SVG and the height it takes. */
function legend(entries: readonly LegendEntry[], left: number, top: number, width: number) {
  const rowPx = 18;
  let x = 0;
  let row = 0;
  const items: string[] = [];
  for (const entry of entries) {
    const label = clip(entry.name, 32) + (entry.empty ? ' (no data)' : '');
    const itemPx = 30 + label.length * CHAR_PX + 16;
    if (x > 0 && x + itemPx > width) [x, row] = [0, row + 1];
    const baseY = top + row * rowPx + 12;
    const dash = entry.dash === '' ? '' : ` stroke-dasharray="${escapeXml(entry.dash)}"`;
    items.push(
      `<g><title>${escapeXml(entry.name)}</title>` +
        `<line x1="${px(left + x)}" y1="${px(baseY - 4)}" x2="${px(left + x + 24)}" y2="${px(baseY - 4)}" stroke="${escapeXml(entry.colour)}" stroke-width="3"${dash}/>` +
        `<text x="${px(left + x + 30)}" y="${px(baseY)}" fill="${entry.empty ? MUTED : TEXT}">${escapeXml(label)}</text></g>`,
    );
    x += itemPx;
  }
  return { svg: items.join(''), height: entries.length === 0 ? 0 : (row + 1) * rowPx + 6 };
}

function svgOpen(title: string, width: number, height: number): string {
  return (
    `<svg viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" role="img" ` +
    `aria-label="${escapeXml(title)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="${FONT_PX}">` +
    `<title>${escapeXml(title)}</title>`
  );
}

/** A line chart of named series with axes, grid, legend and optional dashed reference lines. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 640;
  const plotHeight = spec.plotHeight ?? 240;
  const left = 72;
  const right = 20;
  const plotWidth = width - left - right;
  const legendBox = legend(
    spec.series.map((s) => ({
      name: s.name,
      colour: s.colour,
      dash: s.dash ?? '',
      empty: !s.points.some((p) => Number.isFinite(p.x) && Number.isFinite(p.y)),
    })),
    8,
    8,
    width - 16,
  );
  const top = 8 + legendBox.height + 10;
  const bottom = top + plotHeight;
  const height = bottom + 48;
  const references = spec.references ?? [];
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
  // A y reference (a budget) widens the axis with 6 % headroom, so its label never sits on the legend.
  const yReferences = references.filter((r) => r.axis === 'y' && Number.isFinite(r.value));
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p.y)), ...yReferences.map((r) => r.value * 1.06)];
  const xScale = scaleFor(spec.x, xs, Math.max(2, Math.floor(plotWidth / 90)));
  const yScale = scaleFor(spec.y, ys, 5);
  const toX = (v: number) => place(xScale, v, left, left + plotWidth);
  const toY = (v: number) => place(yScale, v, bottom, top);

  const parts = [svgOpen(spec.title, width, height), legendBox.svg];
  for (const tick of yScale.ticks) {
    const y = toY(tick);
    if (y === undefined) continue;
    parts.push(
      `<line x1="${px(left)}" x2="${px(left + plotWidth)}" y1="${px(y)}" y2="${px(y)}" stroke="${GRID}"/>`,
      `<text x="${px(left - 6)}" y="${px(y + 4)}" text-anchor="end" fill="${MUTED}">${escapeXml(spec.y.format(tick))}</text>`,
    );
  }
  for (const tick of xScale.ticks) {
    const x = toX(tick);
    if (x === undefined) continue;
    parts.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${px(top)}" y2="${px(bottom)}" stroke="${GRID}"/>`,
      `<text x="${px(x)}" y="${px(bottom + 16)}" text-anchor="middle" fill="${MUTED}">${escapeXml(spec.x.format(tick))}</text>`,
    );
  }
  parts.push(
    `<path d="M${px(left)} ${px(top)} V${px(bottom)} H${px(left + plotWidth)}" fill="none" stroke="${MUTED}"/>`,
    `<text x="${px(left + plotWidth / 2)}" y="${px(bottom + 38)}" text-anchor="middle" fill="${TEXT}">${escapeXml(spec.x.label)}</text>`,
    `<text transform="translate(16 ${px(top + plotHeight / 2)}) rotate(-90)" text-anchor="middle" fill="${TEXT}">${escapeXml(spec.y.label)}</text>`,
  );
  for (const series of spec.series) {
    const d = pathData(series.points.map((p) => toPair(toX(p.x), toY(p.y))));
    const dash = series.dash === undefined || series.dash === '' ? '' : ` stroke-dasharray="${escapeXml(series.dash)}"`;
    parts.push(
      `<path data-series="${escapeXml(series.name)}" d="${d}" fill="none" stroke="${escapeXml(series.colour)}" ` +
        `stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}><title>${escapeXml(series.name)}</title></path>`,
    );
  }
  // An x reference's label sits low in the plot, where CDF curves have already risen past it.
  const box = { left, top, plotWidth, bottom, xLabelY: bottom - 8 };
  for (const reference of references) parts.push(referenceLine(reference, toX, toY, box));
  parts.push('</svg>');
  return parts.join('');
}

function toPair(x: number | undefined, y: number | undefined): readonly [number, number] | undefined {
  return x === undefined || y === undefined ? undefined : [x, y];
}

function referenceLine(
  reference: ReferenceLine,
  toX: (v: number) => number | undefined,
  toY: (v: number) => number | undefined,
  box: { left: number; top: number; plotWidth: number; bottom: number; xLabelY: number },
): string {
  const at = reference.axis === 'y' ? toY(reference.value) : toX(reference.value);
  const right = box.left + box.plotWidth;
  // An x reference outside the data would stretch a log axis by decades: it is left out instead.
  if (at === undefined || at < box.left - 0.5 || at > right + 0.5 || (reference.axis === 'y' && at < box.top - 0.5))
    return '';
  const label = escapeXml(reference.label);
  const attributes = `data-reference="${label}" stroke="${TEXT}" stroke-width="1.5" stroke-dasharray="6 4"`;
  if (reference.axis === 'y')
    return (
      `<line ${attributes} x1="${px(box.left)}" x2="${px(right)}" y1="${px(at)}" y2="${px(at)}"/>` +
      `<text x="${px(right - 4)}" y="${px(at - 5)}" text-anchor="end" font-weight="600" fill="${TEXT}" ${HALO}>${label}</text>`
    );
  const anchorEnd = at > box.left + box.plotWidth * 0.7;
  return (
    `<line ${attributes} x1="${px(at)}" x2="${px(at)}" y1="${px(box.top)}" y2="${px(box.bottom)}"/>` +
    `<text x="${px(at + (anchorEnd ? -5 : 5))}" y="${px(box.xLabelY)}" text-anchor="${anchorEnd ? 'end' : 'start'}" font-weight="600" fill="${TEXT}" ${HALO}>${label}</text>`
  );
}

export interface Bar {
  readonly series: string;
  readonly colour: string;
  /** Undefined or non-finite: no bar, `missingLabel` instead. */
  readonly value: number | undefined;
  readonly missingLabel?: string;
}

export interface BarGroup {
  /** Heading above the group's bars; empty for a chart of one group. */
  readonly label: string;
  readonly bars: readonly Bar[];
}

export interface BarChartSpec {
  readonly title: string;
  readonly groups: readonly BarGroup[];
  /** The value axis: bars start at zero, so lengths compare honestly. */
  readonly value: ChartAxis;
  /** How the value at a bar's end is written; the axis's tick format when absent. */
  readonly valueFormat?: (value: number) => string;
  readonly reference?: { readonly value: number; readonly label: string };
  readonly width?: number;
}

/** Horizontal bars, one row per bar labelled with its series, grouped under headings; values printed at the bar ends. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 640;
  const rowPx = 20;
  const headingPx = 22;
  const names = spec.groups.flatMap((g) => g.bars.map((b) => b.series));
  const labelChars = Math.min(28, Math.max(6, ...names.map((n) => n.length)));
  const left = Math.round(labelChars * CHAR_PX + 16);
  const right = 70;
  const plotWidth = width - left - right;
  // A reference's label sits above the plot, clear of the first heading.
  const top = spec.reference === undefined ? 10 : 30;
  let y = top;
  const values = spec.groups.flatMap((g) => g.bars.map((b) => b.value ?? Number.NaN));
  const scale = scaleFor(
    { ...spec.value, min: 0 },
    [...values, ...(spec.reference ? [spec.reference.value] : [])],
    Math.max(2, Math.floor(plotWidth / 90)),
  );
  const toX = (v: number) => place(scale, v, left, left + plotWidth);
  const rows: string[] = [];
  for (const group of spec.groups) {
    if (group.label !== '') {
      rows.push(`<text x="8" y="${px(y + 15)}" font-weight="600" fill="${TEXT}">${escapeXml(group.label)}</text>`);
      y += headingPx;
    }
    for (const bar of group.bars) {
      const middle = y + rowPx / 2;
      rows.push(
        `<text x="${px(left - 8)}" y="${px(middle + 4)}" text-anchor="end" fill="${TEXT}">` +
          `<title>${escapeXml(bar.series)}</title>${escapeXml(clip(bar.series, labelChars))}</text>`,
      );
      const end = bar.value === undefined ? undefined : toX(bar.value);
      if (bar.value === undefined || end === undefined) {
        const note = escapeXml(bar.missingLabel ?? 'no data');
        rows.push(`<text x="${px(left + 6)}" y="${px(middle + 4)}" font-style="italic" fill="${MUTED}">${note}</text>`);
      } else {
        const text = escapeXml((spec.valueFormat ?? spec.value.format)(bar.value));
        rows.push(
          `<rect data-series="${escapeXml(bar.series)}" x="${px(left)}" y="${px(y + 3)}" width="${px(Math.max(0, end - left))}" ` +
            `height="${px(rowPx - 6)}" fill="${escapeXml(bar.colour)}"><title>${escapeXml(bar.series)}: ${text}</title></rect>`,
          `<text x="${px(Math.max(left, end) + 5)}" y="${px(middle + 4)}" fill="${TEXT}" ${HALO}>${text}</text>`,
        );
      }
      y += rowPx;
    }
    y += 6;
  }
  const bottom = y;
  const height = bottom + 44;
  const parts = [svgOpen(spec.title, width, height)];
  for (const tick of scale.ticks) {
    const x = toX(tick);
    if (x === undefined) continue;
    parts.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${px(top)}" y2="${px(bottom)}" stroke="${GRID}"/>`,
      `<text x="${px(x)}" y="${px(bottom + 16)}" text-anchor="middle" fill="${MUTED}">${escapeXml(spec.value.format(tick))}</text>`,
    );
  }
  // The reference goes under the rows so value labels, haloed, stay readable across it.
  if (spec.reference !== undefined)
    parts.push(
      referenceLine({ axis: 'x', ...spec.reference }, toX, () => undefined, {
        left,
        top,
        plotWidth,
        bottom,
        xLabelY: top - 8,
      }),
    );
  parts.push(
    `<path d="M${px(left)} ${px(top)} V${px(bottom)} H${px(left + plotWidth)}" fill="none" stroke="${MUTED}"/>`,
    ...rows,
    `<text x="${px(left + plotWidth / 2)}" y="${px(bottom + 36)}" text-anchor="middle" fill="${TEXT}">${escapeXml(spec.value.label)}</text>`,
    '</svg>',
  );
  return parts.join('');
}
