/**
 * How listings are printed: a table with Convox's upper-case headers, columns two spaces apart,
 * or, with `--output json`, the records themselves as a JSON array for scripts.
 */
import { SlipwayError } from '../errors';
import type { CliIO } from './io';

export type OutputFormat = 'table' | 'json';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json') return value;
  throw new SlipwayError(`--output ${value} is not a format this command knows; use table or json`, 'USAGE');
}

export type Column<T> = readonly [header: string, cell: (row: T) => string | number | undefined];

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [columns.map(([header]) => header), ...rows.map((row) => columns.map(([, cell]) => String(cell(row) ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A listing: `json` prints `records` (what a script wants), `table` the columns of `rows`. */
export function printList<T>(io: CliIO, format: OutputFormat, rows: readonly T[], columns: readonly Column<T>[], records: unknown = rows): void {
  if (format === 'json') io.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
  else io.stdout.write(formatTable(rows, columns));
}

/** A record shown as `Field  value` lines (Convox's `info` commands), or JSON. */
export function printInfo(io: CliIO, format: OutputFormat, fields: readonly (readonly [string, string | number | undefined])[], record: unknown): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return;
  }
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) io.stdout.write(`${name.padEnd(width)}  ${value ?? ''}\n`.replace(/ +\n$/, '\n'));
}

/** `2 minutes ago`-style ages are unstable in tests and logs: times are printed as UTC, to the second. */
export function when(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 19).replace('T', ' ')}` : '';
}

export function elapsed(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '';
  const s = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
