/** Formats rows as an aligned plain-text table (numbers right-aligned). */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers.map(String), ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  // Numbers, and strings that render numbers (`12.5%`, `1.50×`, `–`), align right.
  const numeric = headers.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every((row) => typeof row[i] === 'number' || /^(-?[\d.,]+(%|×)?|–)$/.test(String(row[i]))),
  );
  const render = (row: readonly string[]): string =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(cells[0] ?? []), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(render)].join(
    '\n',
  );
}
