/** `2026-11-29T10:00:00.000Z`, or null for no time (JSON output). */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** `2026-11-29 10:00:00` in UTC, for tables. */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** `$0.79`, `$0.345`: dollars with up to three decimals, for sentences. */
export function usd(n: number): string {
  return `$${Number(n.toFixed(3))}`;
}
