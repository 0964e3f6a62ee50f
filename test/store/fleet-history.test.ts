import { describe, expect, it } from 'vitest';
import type { FleetFigures, GpuOffer, WatchKey } from '../../src/runpod/types.js';
import { openStore } from '../../src/store/store.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { KEY_A, KEY_B, offer } from '../helpers/offers.js';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const at = (poll: number): number => T0 + poll * 30_000;
const ok = (poll: number) => ({ at: at(poll), durationMs: 40, outcome: 'ok' as const });
const failed = (poll: number) => ({ at: at(poll), durationMs: 40, outcome: 'failed' as const, errorKind: 'transient', error: 'HTTP 502' });
const figures = (rentedCount: number | null, totalCount: number | null, rentalPercentage: number | null = null): FleetFigures => ({ rentedCount, totalCount, rentalPercentage });
/** An offer as GraphQL gives it, with fleet figures; the stock and price stay the same throughout. */
const withFleet = (key: WatchKey, fleet: FleetFigures | undefined): GpuOffer => offer(key, 'High', 2.99, fleet ? { fleet } : {});
const pct = (rented: number, total: number): number => Math.round((rented / total) * 10_000) / 100;

/** Records one poll per fleet reading of KEY_A (undefined: a failed poll) and returns the store. */
function recorded(readings: (FleetFigures | undefined | 'failed')[], path = tempDbPath()) {
  const store = openStore(path);
  readings.forEach((fleet, poll) => store.history.recordPoll(fleet === 'failed' ? failed(poll) : ok(poll), fleet === 'failed' ? [] : [withFleet(KEY_A, fleet)]));
  return { store, path };
}

const ranges = (store: ReturnType<typeof openStore>) =>
  store.history.fleetIntervals({ since: 0 }).map((i) => [i.totalCount, i.rentedMin, i.rentedMax, i.firstSeen, i.lastSeen, i.polls]);

describe('fleet history', () => {
  it('keeps a rented count moving within 5% of the fleet as one interval holding its range; a move past the band opens the next', () => {
    // 40 GPUs: the band is 2. 34, 35, 33 stay within 33..35; 36 would make 33..36: a new interval.
    const { store } = recorded([figures(34, 40), figures(35, 40), figures(33, 40), figures(36, 40), figures(35, 40)]);
    expect(ranges(store)).toEqual([
      [40, 33, 35, at(0), at(2), 3],
      [40, 35, 36, at(3), at(4), 2],
    ]);
    // The stock and price did not change: the market intervals were never split by the fleet.
    expect(store.history.intervals({ since: 0 }).map((i) => [i.firstSeen, i.lastSeen, i.polls])).toEqual([[at(0), at(4), 5]]);
    store.close();
  });

  it('opens a new interval when the fleet changes size, a figure appears or goes missing, or a poll fails', () => {
    const { store } = recorded([figures(34, 40), figures(34, 48), figures(null, 48), 'failed', figures(null, 48), undefined, figures(30, 48)]);
    expect(ranges(store)).toEqual([
      [40, 34, 34, at(0), at(0), 1],
      [48, 34, 34, at(1), at(1), 1],
      [48, null, null, at(2), at(2), 1],
      [48, null, null, at(4), at(4), 1],
      [48, 30, 30, at(6), at(6), 1],
    ]);
    store.close();
  });

  it('keeps the percentage as RunPod gives it, in the range of its interval; alone, it is banded at 5% of its value', () => {
    const { store } = recorded([figures(34, 40, pct(34, 40)), figures(35, 40, pct(35, 40)), figures(null, null, 80), figures(null, null, 83), figures(null, null, 85)]);
    expect(store.history.fleetIntervals({ since: 0 }).map((i) => [i.rentedMin, i.rentedMax, i.rentalPercentageMin, i.rentalPercentageMax, i.polls])).toEqual([
      [34, 35, 85, 87.5, 2],
      // 80..83 is within 5% of 83; 80..85 is not (4.25 allowed).
      [null, null, 80, 83, 2],
      [null, null, 85, 85, 1],
    ]);
    store.close();
  });

  it('writes nothing for offers without figures (REST v2), keeps keys apart, and prunes with the rest', () => {
    const path = tempDbPath();
    const store = openStore(path);
    store.history.recordPoll(ok(0), [withFleet(KEY_A, figures(34, 40)), withFleet(KEY_B, undefined)]);
    store.history.recordPoll(ok(1), [withFleet(KEY_A, figures(35, 40)), withFleet(KEY_B, figures(3, 8))]);
    expect(store.history.fleetIntervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.rentedMin, i.rentedMax, i.polls])).toEqual([
      [KEY_B.gpuTypeId, 3, 3, 1],
      [KEY_A.gpuTypeId, 34, 35, 2],
    ]);
    expect(store.history.fleetIntervals({ gpuTypeId: KEY_A.gpuTypeId, since: 0 })).toHaveLength(1);
    expect(store.history.prune(at(2), 1_000)).toBeGreaterThan(0);
    expect(store.history.fleetIntervals({ since: 0 })).toEqual([]);
    store.close();
    expect(onDisk(path, (db) => db.prepare('SELECT count(*) FROM fleet_intervals').pluck().get())).toBe(0);
  });

  it('lets a restart continue nothing, and a reopened store reads what was recorded', () => {
    const { store, path } = recorded([figures(34, 40), figures(35, 40)]);
    store.close();
    const again = openStore(path);
    again.history.recordPoll(ok(2), [withFleet(KEY_A, figures(35, 40))]);
    expect(ranges(again)).toEqual([
      [40, 34, 35, at(0), at(1), 2],
      [40, 35, 35, at(2), at(2), 1],
    ]);
    again.close();
  });

  it.each([
    [40, 1, 2],
    [880, 5, 44],
  ])('stays compact on a busy market: a day of a fleet of %i whose rented count moves by up to %i each poll', (total, step, band) => {
    // 2 880 polls (a day at 30 s); the walk comes from a fixed linear congruential sequence, so the
    // test sees the same market every run.
    const readings: FleetFigures[] = [];
    let seed = 7;
    let rented = Math.round(total * 0.85);
    for (let poll = 0; poll < 2_880; poll++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      rented = Math.min(total, Math.max(0, rented + (seed % (2 * step + 1)) - step));
      readings.push(figures(rented, total));
    }
    const { store } = recorded(readings);
    const intervals = store.history.fleetIntervals({ since: 0 });
    expect(intervals.reduce((sum, i) => sum + i.polls, 0)).toBe(2_880);
    // One row per poll would be 2 880.
    expect(intervals.length).toBeLessThan(2_880 / 8);
    expect(intervals.every((i) => i.rentedMax !== null && i.rentedMin !== null && i.rentedMax - i.rentedMin <= band)).toBe(true);
    store.close();
  });
});
