import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/runpod/types.js';
import { billedStretches, byDay, UNTIMED_GAP_MS } from '../../src/rules/spend.js';
import type { PodAccount } from '../../src/store/repositories.js';

const T = Date.UTC(2026, 10, 29, 10, 0, 0);
const MIN = 60_000;

const pod = (fields: Partial<Pod>): Pod => ({
  id: 'p1',
  name: 'trainer',
  desiredStatus: 'RUNNING',
  runtime: null,
  costPerHr: 0.6,
  gpuCount: 1,
  gpuTypeId: 'NVIDIA RTX A6000',
  gpuDisplayName: null,
  imageName: null,
  cloud: 'SECURE',
  kind: 'on-demand',
  watcher: { rule: 'trainer', deployId: 'dep_1' },
  ...fields,
});
const account = (fields: Partial<PodAccount>): PodAccount => ({ podId: 'p1', rule: 'trainer', costPerHr: 0.6, billed: true, seenAt: T, dollars: 0, ...fields });
const minutes = (stretches: { from: number; to: number; costPerHr: number }[]) => stretches.map((s) => [(s.from - T) / MIN, (s.to - T) / MIN, s.costPerHr]);

describe('billedStretches', () => {
  it.each([
    { name: 'first sight of a pod it deployed: from its start', before: undefined, pod: { statusChangedAt: T - 5 * MIN }, now: T, expected: [[-5, 0, 0.6]] },
    { name: 'first sight of a resume entry pod: nothing before it', before: undefined, pod: { watcher: null, statusChangedAt: T - 5 * MIN }, now: T, expected: [] },
    { name: 'first sight without a status time: nothing', before: undefined, pod: {}, now: T, expected: [] },
    { name: 'billed throughout, a long gap: all of it', before: {}, pod: { statusChangedAt: T - 1 }, now: T + 600 * MIN, expected: [[0, 600, 0.6]] },
    { name: 'stopped in the gap: up to the stop, at the rate it ran at', before: { costPerHr: 0.6 }, pod: { desiredStatus: 'EXITED', costPerHr: 0, statusChangedAt: T + 10 * MIN }, now: T + 30 * MIN, expected: [[0, 10, 0.6]] },
    { name: 'started in the gap: from the start', before: { billed: false }, pod: { costPerHr: 0.7, statusChangedAt: T + 20 * MIN }, now: T + 30 * MIN, expected: [[20, 30, 0.7]] },
    { name: 'stopped throughout: nothing', before: { billed: false }, pod: { desiredStatus: 'EXITED', statusChangedAt: T - MIN }, now: T + 30 * MIN, expected: [] },
    { name: 'a status time ahead of the clock counts as now', before: { billed: false }, pod: { statusChangedAt: T + 90 * MIN }, now: T + 30 * MIN, expected: [[30, 30, 0.6]] },
    { name: 'no status time, billed at both ends of a short gap: all of it', before: {}, pod: {}, now: T + UNTIMED_GAP_MS, expected: [[0, 60, 0.6]] },
    { name: 'no status time, a gap over the bound: nothing', before: {}, pod: {}, now: T + UNTIMED_GAP_MS + 1, expected: [] },
    { name: 'no status time, a start in the gap: nothing', before: { billed: false }, pod: {}, now: T + 10 * MIN, expected: [] },
    { name: 'the clock behind the account: nothing', before: {}, pod: { statusChangedAt: T - MIN }, now: T - MIN, expected: [] },
  ])('$name', ({ before, pod: fields, now, expected }) => {
    expect(minutes(billedStretches(before && account(before), pod(fields as Partial<Pod>), now))).toEqual(expected);
  });
});

describe('byDay', () => {
  it('splits a stretch at UTC midnight', () => {
    const from = Date.UTC(2026, 10, 30, 23, 0, 0);
    expect(byDay({ from, to: from + 3 * 60 * MIN, costPerHr: 1.2 })).toEqual([
      { day: '2026-11-30', dollars: 1.2 },
      { day: '2026-12-01', dollars: 2.4 },
    ]);
  });
});
