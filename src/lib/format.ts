/** `2026-11-29T10:00:00.000Z`, or null for no time (JSON output). */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** `2026-11-29 10:00:00` in UTC, for tables. */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * `$0.79`, `$0.345`, `$2.00`: the one money format, for sentences, tables and the dashboard. Two
 * decimals, three when the amount has a third (RunPod prices some GPUs to a tenth of a cent);
 * `missing` when there is no amount.
 */
export function usd(amount: number | null | undefined, missing = '-'): string {
  return amount === null || amount === undefined ? missing : `$${amount.toFixed(3).replace(/0$/, '')}`;
}

/** `$0.79/GPU/hr`: a price per GPU per hour in a sentence (RunPod's prices, bids, `maxPrice`); `missing` when there is none. */
export function perGpuHour(amount: number | null | undefined, missing = 'no price'): string {
  return amount === null || amount === undefined ? missing : `${usd(amount)}/GPU/hr`;
}
