import { describe, expect, it } from 'vitest';
import { formatDuration, humanDuration, parseDuration, parseSince } from '../../src/lib/duration.js';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it.each(['', '5', 'm5', '5 minutes', '-5s', '3w', '1e400h', `${'9'.repeat(400)}d`, '99999999999999999d'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseSince', () => {
  const now = Date.parse('2026-11-29T10:00:00Z');

  it.each([
    ['24h', now - 86_400_000],
    ['0s', now],
    ['2026-11-01', Date.parse('2026-11-01T00:00:00Z')],
    ['2026-11-01T08:00Z', Date.parse('2026-11-01T08:00:00Z')],
    ['2026-11-01T08:00:30.5+02:00', Date.parse('2026-11-01T06:00:30.5Z')],
    ['1970-01-01', 0],
  ])('%s is a moment in the past', (text, at) => {
    expect(parseSince(text, now)).toEqual({ at });
  });

  const garbage = 'is not a duration like 24h or 7d, nor a date like 2026-11-01 or 2026-11-01T08:00Z';
  it.each([
    ['99999999d', 'reaches back before 1970, where no history can be'],
    ['999999999d', 'reaches back before 1970, where no history can be'],
    ['1e400h', garbage],
    [`${'9'.repeat(400)}d`, 'reaches back before 1970, where no history can be'],
    ['-5d', garbage],
    ['1969-12-31', 'reaches back before 1970, where no history can be'],
    ['0001-01-01', 'reaches back before 1970, where no history can be'],
    ['2999-01-01', 'is in the future; give a moment in the past'],
    ['2026-11-29T10:00:01Z', 'is in the future; give a moment in the past'],
    ['2026-02-31', garbage],
    ['1', garbage],
    ['lately', garbage],
    ['', garbage],
  ])('%j is refused: %s', (text, reason) => {
    expect(parseSince(text, now)).toEqual({ error: `"${text}" ${reason}` });
  });
});

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [93_000, '1m 33s'],
    [3_600_000, '1h'],
    [7_500_000, '2h 5m'],
    [277_200_000, '3d 5h'],
  ])('%i ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
