/**
 * Plain-text tables for the examples: a streamed one whose rows are printed as events happen (so
 * its column widths are fixed up front), and a sized one whose columns fit their widest cell.
 */

/** Where a table's lines go: `console.log` in a terminal, an array in a test. */
export type Print = (line: string) => void;

/** One column: its header, its alignment and, for a streamed table, its width in characters. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
  readonly width?: number;
}

const GAP = '  ';
const INDENT = '  ';

/** Pads `text` to `width`, cutting it with `…` when it is longer. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'right' ? cut.padStart(width) : cut.padEnd(width);
}

function line(columns: readonly Column[], widths: readonly number[], cells: readonly string[]): string {
  const fitted = columns.map((column, index) => fit(cells[index] ?? '', widths[index] ?? 0, column.align));
  return `${INDENT}${fitted.join(GAP)}`.trimEnd();
}

function header(columns: readonly Column[], widths: readonly number[]): string[] {
  return [
    line(columns, widths, columns.map((column) => column.header)),
    line(columns, widths, widths.map((width) => '─'.repeat(width))),
  ];
}

/** A table printed a row at a time; every column needs a `width`. */
export class StreamingTable {
  readonly #columns: readonly Column[];
  readonly #widths: readonly number[];
  readonly #print: Print;

  constructor(columns: readonly Column[], print: Print) {
    this.#columns = columns;
    this.#widths = columns.map((column) => column.width ?? column.header.length);
    this.#print = print;
  }

  printHeader(): void {
    for (const text of header(this.#columns, this.#widths)) this.#print(text);
  }

  printRow(cells: readonly string[]): void {
    this.#print(line(this.#columns, this.#widths, cells));
  }
}

/** Prints `rows` under the columns' headers, each column as wide as its widest cell. */
export function printTable(columns: readonly Column[], rows: readonly (readonly string[])[], print: Print): void {
  const widths = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)));
  for (const text of header(columns, widths)) print(text);
  for (const row of rows) print(line(columns, widths, row));
}
