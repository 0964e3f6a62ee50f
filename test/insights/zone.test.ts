import { describe, expect, it } from 'vitest';
import { timeZoneProblem, ZoneCalendar } from '../../src/insights/zone.js';

const HOUR = 3_600_000;

/** Hours per bucket that `split` gives [from, to) in `zone`, only the non-empty ones, as `day hour: hours`. */
function hoursByBucket(zone: string, from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  new ZoneCalendar(zone).split(from, to, (bucket, a, b) => {
    const name = `${['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][Math.floor(bucket / 24)]} ${bucket % 24}`;
    out[name] = (out[name] ?? 0) + (b - a) / HOUR;
  });
  return out;
}

describe('hour-of-week buckets in a time zone', () => {
  it('UTC: a Monday 09:00-12:00 is three hours of Monday', () => {
    expect(hoursByBucket('UTC', Date.UTC(2026, 0, 5, 9), Date.UTC(2026, 0, 5, 12))).toEqual({ 'Mon 9': 1, 'Mon 10': 1, 'Mon 11': 1 });
  });

  it('Berlin, clocks forward (Sunday 29 March 2026, 01:00 UTC): local 02:00 never happens', () => {
    // 00:00 UTC is 01:00 CET; 01:00 UTC is 03:00 CEST.
    expect(hoursByBucket('Europe/Berlin', Date.UTC(2026, 2, 29, 0), Date.UTC(2026, 2, 29, 4))).toEqual({ 'Sun 1': 1, 'Sun 3': 1, 'Sun 4': 1, 'Sun 5': 1 });
  });

  it('Berlin, clocks back (Sunday 25 October 2026, 01:00 UTC): local 02:00 gets both of its hours', () => {
    // 00:00 UTC is 02:00 CEST; 01:00 UTC is 02:00 CET again.
    expect(hoursByBucket('Europe/Berlin', Date.UTC(2026, 9, 25, 0), Date.UTC(2026, 9, 25, 3))).toEqual({ 'Sun 2': 2, 'Sun 3': 1 });
  });

  it('New York across its own change (8 March 2026, 07:00 UTC) and a day boundary', () => {
    // 8 March 2026 is a Sunday: 04:00 UTC is Saturday 23:00 EST, 07:00 UTC is 03:00 EDT.
    expect(hoursByBucket('America/New_York', Date.UTC(2026, 2, 8, 4), Date.UTC(2026, 2, 8, 9))).toEqual({ 'Sat 23': 1, 'Sun 0': 1, 'Sun 1': 1, 'Sun 3': 1, 'Sun 4': 1 });
  });

  it('a zone half an hour off (Kolkata, +05:30) splits a UTC hour in two', () => {
    expect(hoursByBucket('Asia/Kolkata', Date.UTC(2026, 0, 5, 0), Date.UTC(2026, 0, 5, 1))).toEqual({ 'Mon 5': 0.5, 'Mon 6': 0.5 });
  });

  it('names a bad zone plainly and accepts real ones', () => {
    expect(timeZoneProblem('Mars/Olympus')).toBe('"Mars/Olympus" is not a time zone: give an IANA name such as UTC, Europe/Berlin or America/New_York');
    expect(timeZoneProblem('Europe/Berlin')).toBeUndefined();
    expect(timeZoneProblem('UTC')).toBeUndefined();
  });
});
