/** The reliability suites print what they did as a table, so a run shows scenarios and outcomes at a glance. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '      | ' + cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n      ${title}`);
  console.log(line(header));
  console.log('      |' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('');
}
