/**
 * One CSV cell, RFC 4180 quoting; a leading =, +, -, @, tab or CR is prefixed with ' so spreadsheets
 * never run it as a formula. The audit export and the key report both write their cells with it.
 */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
