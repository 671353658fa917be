/**
 * The audit log as CSV (RFC 4180) that a spreadsheet opens as data: a cell a spreadsheet would
 * read as a formula (`=`, `+`, `-`, `@`, tab or carriage return first) gets a leading `'`, and
 * every cell is quoted, so commas, quotes and line breaks inside values stay in their cell.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '""';
  const text = String(value);
  const inert = FORMULA_START.test(text) ? `'${text}` : text;
  return `"${inert.replaceAll('"', '""')}"`;
}

export const csvRow = (cells: ReadonlyArray<string | number | null | undefined>) => `${cells.map(csvCell).join(',')}\r\n`;
