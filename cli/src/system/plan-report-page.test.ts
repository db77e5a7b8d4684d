import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { examplePlanReport, examplePlanReportWithGaps, type PlanReport, renderPlanHtml } from '@switchyard/bench';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../../test-output/plan-report.png', import.meta.url));
/** An A4 page's width inside 14 mm margins, in CSS pixels: what the print stylesheet must fit. */
const A4_PRINTABLE_PX = 688;

/** Every chart the report must draw, and how many shapes each policy gets in it. */
function expectedCharts(report: PlanReport): [testid: string, shapesPerPolicy: number][] {
  const clusters = report.fleet.clusters.map((c) => c.name);
  return [
    ['chart-ttft-cdf', 1],
    ['chart-total-cdf', 1],
    ...clusters.map((c): [string, number] => [`chart-power-${c}`, 1]),
    ...clusters.map((c): [string, number] => [`chart-util-${c}`, 1]),
    ['chart-attainment', 4],
    ['chart-energy', 1],
  ];
}

/** Writes the report's HTML to a file and opens it, collecting any page or console error. */
async function open(browser: Browser, file: string, report: PlanReport, errors: string[]): Promise<Page> {
  writeFileSync(file, renderPlanHtml(report));
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
  await page.goto(pathToFileURL(file).href);
  return page;
}

/** For each series shape in the chart: its name and its drawn length (paths) or width (bars). */
async function drawnSeries(page: Page, testid: string): Promise<{ name: string; size: number }[]> {
  return page
    .getByTestId(testid)
    .locator('[data-series]')
    .evaluateAll((shapes) =>
      shapes.map((shape) => ({
        name: shape.getAttribute('data-series') ?? '',
        // A line's drawn length (a flat line has an empty bounding box); a bar's width.
        size:
          shape.tagName === 'path'
            ? (shape as unknown as { getTotalLength(): number }).getTotalLength()
            : shape.getBoundingClientRect().width,
      })),
    );
}

/**
 * The capacity plan's HTML report in a real browser (Debian's chromium through playwright-core),
 * opened from a file as a reader would: every chart is drawn with a visible shape per policy, the
 * budget lines are there, nothing errors, and the print layout fits an A4 page.
 */
describe('plan report page (real browser)', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plan-report-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 30_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('draws every chart with one shape per policy, without errors, and fits a printed page', async () => {
    const report = examplePlanReport();
    const errors: string[] = [];
    const page = await open(browser, join(dir, 'plan.html'), report, errors);
    const policies = report.policies.map((run) => run.summary.policy).sort();

    for (const [testid, shapesPerPolicy] of expectedCharts(report)) {
      const svg = page.getByTestId(testid).locator('svg');
      const box = await svg.boundingBox();
      const drawn = await drawnSeries(page, testid);
      // One object per chart, so a failure names the chart.
      expect({
        testid,
        visible: await svg.isVisible(),
        wide: (box?.width ?? 0) > 300,
        tall: (box?.height ?? 0) > 100,
        series: drawn.map((s) => s.name).sort(),
        withoutSize: drawn.filter((s) => !(s.size > 0)),
      }).toEqual({
        testid,
        visible: true,
        wide: true,
        tall: true,
        series: policies.flatMap((p) => Array.from({ length: shapesPerPolicy }, () => p)),
        withoutSize: [],
      });
    }
    for (const cluster of report.fleet.clusters) {
      const budget = page.getByTestId(`chart-power-${cluster.name}`).locator('[data-reference^="budget"]');
      expect(await budget.count()).toBe(1);
      // A horizontal line has no height, which Playwright's isVisible reads as hidden: measure its span.
      expect(await budget.evaluate((line) => line.getBoundingClientRect().width)).toBeGreaterThan(300);
    }
    for (const testid of ['policy-table', 'capacity-answer', 'calibration'])
      expect({ testid, visible: await page.getByTestId(testid).isVisible() }).toEqual({ testid, visible: true });

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Printed on A4: no table or chart is wider than the page.
    await page.setViewportSize({ width: A4_PRINTABLE_PX, height: 900 });
    await page.emulateMedia({ media: 'print' });
    const pageWidth = await page.locator('main').evaluate((main) => main.clientWidth);
    const overflowing = await page
      .locator('table, svg')
      .evaluateAll(
        (elements, width) =>
          elements
            .filter((element) => element.getBoundingClientRect().width > width + 1)
            .map((element) => element.closest('[data-testid]')?.getAttribute('data-testid') ?? element.tagName),
        pageWidth,
      );
    expect(overflowing).toEqual([]);
    expect(errors).toEqual([]);
  }, 30_000);

  it('draws a plan with gaps: an empty line for a policy that served nothing, a note instead of its bar', async () => {
    const report = examplePlanReportWithGaps();
    const errors: string[] = [];
    const page = await open(browser, join(dir, 'plan-with-gaps.html'), report, errors);
    for (const [testid] of expectedCharts(report))
      expect(await page.getByTestId(testid).locator('svg').isVisible()).toBe(true);
    const ttft = await drawnSeries(page, 'chart-ttft-cdf');
    expect(ttft.find((s) => s.name === 'refuse-all')?.size).toBe(0);
    expect(ttft.filter((s) => s.name !== 'refuse-all').every((s) => s.size > 0)).toBe(true);
    expect((await drawnSeries(page, 'chart-energy')).map((s) => s.name)).not.toContain('refuse-all');
    expect(await page.getByTestId('chart-energy').getByText('served nothing').isVisible()).toBe(true);
    expect(await page.getByTestId('capacity-answer').count()).toBe(0);
    expect(await page.getByTestId('calibration').getAttribute('data-state')).toBe('none');
    expect(errors).toEqual([]);
  }, 30_000);
});
