/** The plan report's stylesheet, inlined into the page: screen and A4 print. */
export const REPORT_STYLE = `
:root { --fg: #1d232b; --muted: #5f6b78; --line: #d9dee4; --bg: #f5f7f9; --card: #fff; --warn: #8a5a00; --warn-bg: #fff4d6; --ok-bg: #e6f4ea; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
p { margin: 6px 0; max-width: 100ch; } .muted { color: var(--muted); } .warn { color: var(--warn); background: var(--warn-bg); padding: 2px 6px; border-radius: 3px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
ul.glance { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 10px 30px; margin: 8px 0; }
ul.glance li { margin: 3px 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef1f4; font-weight: 600; } th.group { text-align: center; border-left: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; } .codes { font-size: 12px; white-space: normal; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); } tr.answer-row td { background: var(--ok-bg); font-weight: 600; }
.swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid; margin-right: 6px; vertical-align: middle; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; align-items: start; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; break-inside: avoid; }
figcaption { margin-bottom: 6px; } figcaption b { display: block; font-size: 14px; }
figure svg { display: block; width: 100%; height: auto; max-width: 760px; }
.answer { background: var(--card); border: 1px solid var(--line); border-left: 4px solid #009E73; border-radius: 6px; padding: 10px 14px; margin: 8px 0; }
.answer[data-found="false"] { border-left-color: #D55E00; } .answer .big { font-size: 17px; }
@media (max-width: 640px) { .charts { grid-template-columns: 1fr; } }
@media print {
  @page { margin: 14mm; }
  body { background: #fff; font-size: 10pt; } main { max-width: none; padding: 0; }
  .charts { display: block; } figure { border: none; padding: 0; margin: 0 0 14px; page-break-inside: avoid; }
  figure svg { max-width: 100%; } h2, h3 { break-after: avoid; } tr { break-inside: avoid; }
  table { font-size: 7.5pt; } th, td { padding: 2px 3px; } thead th, thead th.num { white-space: normal; }
  .table-wrap { overflow: visible; } * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}`;
