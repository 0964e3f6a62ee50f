const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration such as `30s`, `5m`, `2h` or `7d` into milliseconds; undefined when malformed
 * or too large to count in milliseconds exactly (`99999999999999d`).
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const ms = Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

// A calendar date, optionally with a time and an offset: what people type and what isoTime prints.
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

function parseDate(text: string): number {
  const match = DATE.exec(text);
  if (!match) return Number.NaN;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const day = new Date(Date.UTC(year, month - 1, date));
  // Date.parse rolls 2026-02-31 over into March; a day that does not exist is refused instead.
  if (day.getUTCMonth() !== month - 1 || day.getUTCDate() !== date) return Number.NaN;
  return Date.parse(text);
}

/**
 * Reads a `since`: a duration back from `now` (`24h`, `7d`) or a date (`2026-11-01`,
 * `2026-11-01T08:00Z`). The moment must lie between 1970 and `now`; anything else gets a reason
 * a person can act on, never an exception.
 */
export function parseSince(text: string, now: number): { at: number } | { error: string } {
  const back = parseDuration(text);
  // A duration too long to count (`999999999d`) reaches back further than any date.
  const at = back !== undefined ? now - back : DURATION.test(text.trim()) ? -Infinity : parseDate(text.trim());
  if (Number.isNaN(at)) return { error: `"${text}" is not a duration like 24h or 7d, nor a date like 2026-11-01 or 2026-11-01T08:00Z` };
  if (at < 0) return { error: `"${text}" reaches back before 1970, where no history can be` };
  if (at > now) return { error: `"${text}" is in the future; give a moment in the past` };
  return { at };
}

/** Formats milliseconds as the largest whole unit that fits, e.g. 300000 → `5m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Formats an elapsed time for people, in its two largest units: `45s`, `1m 33s`, `2h 5m`, `3d 4h`. */
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const amount = Math.floor(rest / UNIT_MS[unit]);
    rest -= amount * UNIT_MS[unit];
    if (amount > 0 || (unit === 's' && parts.length === 0)) parts.push(`${amount}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}
