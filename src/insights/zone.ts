const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The days of the hour-of-week grid, in its row order (ISO weeks start on Monday). */
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/**
 * Checks an IANA time zone name (`Europe/Berlin`, `UTC`) the way Intl will read it; returns a
 * reason a person can act on, or undefined when it is usable.
 */
export function timeZoneProblem(name: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return undefined;
  } catch {
    return `"${name}" is not a time zone: give an IANA name such as UTC, Europe/Berlin or America/New_York`;
  }
}

/** A UTC day's offsets: the offset at its start, and where it changes within the day (a daylight-saving change). */
interface DayOffsets {
  start: number;
  changeAt: number | null;
  after: number;
}

/**
 * Local time in one time zone, for splitting time into hour-of-week buckets. Offsets come from
 * Intl (the zone database Node ships), asked twice per UTC day and cached: a day whose offset at
 * midnight differs from the next midnight's has its one change found by halving, to the minute.
 */
export class ZoneCalendar {
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, DayOffsets>();

  /** Throws a RangeError on a name Intl does not know: check it with `timeZoneProblem` first. */
  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /**
   * Calls `add(bucket, from, to)` for each piece of [from, to) that falls in one local hour, where
   * bucket is day × 24 + hour, Monday 00:00 local being bucket 0. Elapsed time is what is split:
   * the hour repeated when clocks go back gets both of its hours, the hour skipped gets none.
   */
  split(from: number, to: number, add: (bucket: number, from: number, to: number) => void): void {
    let at = from;
    while (at < to) {
      const dayStart = Math.floor(at / DAY) * DAY;
      const offsets = this.dayOffsets(dayStart);
      const changeAhead = offsets.changeAt !== null && offsets.changeAt > at;
      const offset = changeAhead || offsets.changeAt === null ? offsets.start : offsets.after;
      const local = at + offset;
      const localHour = Math.floor(local / HOUR);
      let end = Math.min(to, (localHour + 1) * HOUR - offset, dayStart + DAY);
      if (changeAhead) end = Math.min(end, offsets.changeAt as number);
      const day = (((Math.floor(local / DAY) + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday (3 from Monday)
      add(day * 24 + (((localHour % 24) + 24) % 24), at, end);
      at = end;
    }
  }

  private dayOffsets(dayStart: number): DayOffsets {
    const cached = this.days.get(dayStart);
    if (cached) return cached;
    const start = this.offsetAt(dayStart);
    const after = this.offsetAt(dayStart + DAY);
    let changeAt: number | null = null;
    if (start !== after) {
      // The change lies in (low, high]: halve to the minute, as every zone changes on a whole minute.
      let low = dayStart;
      let high = dayStart + DAY;
      while (high - low > MINUTE) {
        const mid = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
        if (this.offsetAt(mid) === start) low = mid;
        else high = mid;
      }
      changeAt = high;
    }
    const offsets = { start, changeAt, after };
    this.days.set(dayStart, offsets);
    return offsets;
  }

  /** The zone's offset from UTC at `at`, in milliseconds (positive east of Greenwich). */
  private offsetAt(at: number): number {
    const parts: Record<string, number> = {};
    for (const part of this.format.formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
    const wall = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
    return wall - (at - (((at % 1000) + 1000) % 1000));
  }
}
