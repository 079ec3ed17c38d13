/** Plain-text tables and durations for a terminal: numbers right-aligned, no borders. */

/** A number, or a quantity written with units (`1,200`, `3.5/s`, `2 h 05 m`): aligned right like numbers. */
const isNumeric = (value: unknown): boolean =>
  typeof value === 'number' ||
  (typeof value === 'string' && /^-?\d[\d,.]*( ?[a-z/%]+)?( \d[\d,.]* ?[a-z/%]+)*$/i.test(value));

const text = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);

/** Rows as aligned text lines under a header; `columns` picks and orders the fields (default: the first row's). */
export function formatTable(objects: readonly object[], columns: string[] = Object.keys(objects[0] ?? {})): string[] {
  if (objects.length === 0) return ['(no rows)'];
  const rows = objects as readonly Record<string, unknown>[];
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const right = columns.map((column) =>
    rows.every((row) => row[column] === undefined || row[column] === '' || isNumeric(row[column])),
  );
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, index) => (right[index] ? value.padStart(widths[index]!) : value.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)];
}

/** Seconds as a short human duration: `42 s`, `3 m 05 s`, `2 h 10 m`, `3 d 4 h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '∞';
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} m ${String(whole % 60).padStart(2, '0')} s`;
  if (whole < 86_400)
    return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} m`;
  return `${Math.floor(whole / 86_400)} d ${Math.floor((whole % 86_400) / 3600)} h`;
}

/** A count with thousands separators, so columns of large numbers stay readable. */
export const formatCount = (value: number): string => Math.round(value).toLocaleString('en-US');

/** A rate a second, one decimal below 10. */
export const formatRate = (perSecond: number): string =>
  perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
