// The benches' docs/benchmarks/*.md tables: one header, one separator, one line per row.

/** A markdown table with `head` as its header and each of `rows` (cells already formatted) as a line. */
export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
