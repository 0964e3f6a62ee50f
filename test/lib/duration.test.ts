import { describe, expect, it } from 'vitest';
import { formatDuration, humanDuration, parseDuration } from '../../src/lib/duration.js';

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

  it.each(['', '5', 'm5', '5 minutes', '-5s', '3w'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
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
