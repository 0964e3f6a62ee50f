import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { countsFromMask, countsToMask, priceFromE4, priceToE4 } from '../../src/store/encoding.js';
import { KEY_A, KEY_B, offer } from '../helpers/offers.js';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const at = (poll: number): number => T0 + poll * 30_000;
const ok = (poll: number) => ({ at: at(poll), durationMs: 40, outcome: 'ok' as const });
/** A database file of its own, in a fresh temporary folder: a restart closes it and opens it again. */
const tempDbPath = (): string => join(mkdtempSync(join(tmpdir(), 'gw-history-')), 'h.db');

describe('market history as change intervals', () => {
  it('extends an interval while the state holds and opens a new one on any change', () => {
    const { history } = openStore(':memory:');
    history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79), offer(KEY_B, 'Low', 0.36)]);
    history.recordPoll(ok(1), [offer(KEY_A, 'High', 0.79), offer(KEY_B, 'Low', 0.36)]);
    history.recordPoll(ok(2), [offer(KEY_A, 'High', 0.79), offer(KEY_B, 'Low', 0.36)]);
    history.recordPoll(ok(3), [offer(KEY_A, 'None', null), offer(KEY_B, 'Low', 0.36, { availableGpuCounts: [1] })]);
    history.recordPoll(ok(4), [offer(KEY_A, 'None', null), offer(KEY_B, 'Low', 0.36, { availableGpuCounts: [1] })]);

    expect(history.intervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.firstSeen, i.lastSeen, i.polls, i.stock, i.onDemandPrice, i.availableGpuCounts])).toEqual([
      ['NVIDIA RTX A5000', at(0), at(2), 3, 'Low', 0.36, [1, 2]],
      ['NVIDIA RTX A5000', at(3), at(4), 2, 'Low', 0.36, [1]],
      ['NVIDIA RTX A6000', at(0), at(2), 3, 'High', 0.79, [1, 2]],
      ['NVIDIA RTX A6000', at(3), at(4), 2, 'None', null, [1, 2]],
    ]);
    expect(history.pollRuns(0)).toEqual([
      { outcome: 'ok', errorKind: null, error: null, firstAt: at(0), lastAt: at(4), polls: 5, durationMsTotal: 200, durationMsMax: 40 },
    ]);
  });

  it('leaves a visible gap where a poll failed, instead of continuing across it', () => {
    const { history } = openStore(':memory:');
    history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79)]);
    history.recordPoll({ at: at(1), durationMs: 10_000, outcome: 'failed', errorKind: 'transient', error: 'snapshot: HTTP 502' }, []);
    history.recordPoll({ at: at(2), durationMs: 10_000, outcome: 'failed', errorKind: 'transient', error: 'snapshot: no answer within 10000 ms' }, []);
    history.recordPoll(ok(3), [offer(KEY_A, 'High', 0.79)]);

    expect(history.intervals({ since: 0 }).map((i) => [i.firstSeen, i.lastSeen, i.polls])).toEqual([
      [at(0), at(0), 1],
      [at(3), at(3), 1],
    ]);
    expect(history.pollRuns(0).map((r) => [r.outcome, r.errorKind, r.polls, r.error])).toEqual([
      ['ok', null, 1, null],
      ['failed', 'transient', 2, 'snapshot: no answer within 10000 ms'],
      ['ok', null, 1, null],
    ]);
  });

  it('breaks only the interval of a key dropped from a poll', () => {
    const { history } = openStore(':memory:');
    history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79), offer(KEY_B, 'Low', 0.36)]);
    history.recordPoll({ ...ok(1), outcome: 'partial' }, [offer(KEY_A, 'High', 0.79)]);
    history.recordPoll(ok(2), [offer(KEY_A, 'High', 0.79), offer(KEY_B, 'Low', 0.36)]);
    expect(history.intervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.firstSeen, i.polls])).toEqual([
      ['NVIDIA RTX A5000', at(0), 1],
      ['NVIDIA RTX A5000', at(2), 1],
      ['NVIDIA RTX A6000', at(0), 3],
    ]);
  });

  it('starts new intervals after a restart, since the watcher was not looking in between', () => {
    const path = tempDbPath();
    const before = openStore(path);
    before.history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79)]);
    before.close();
    const restarted = openStore(path);
    restarted.history.recordPoll(ok(1), [offer(KEY_A, 'High', 0.79)]);
    expect(restarted.history.intervals({ since: 0 }).map((i) => [i.firstSeen, i.lastSeen, i.stock])).toEqual([
      [at(0), at(0), 'High'],
      [at(1), at(1), 'High'],
    ]);
    restarted.close();
  });

  it('survives a clock set back across a restart onto an instant that already has an interval', () => {
    const path = tempDbPath();
    const before = openStore(path);
    before.history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79)]);
    before.close();
    const restarted = openStore(path);
    restarted.history.recordPoll(ok(0), [offer(KEY_A, 'Low', 0.79)]);
    restarted.history.recordPoll(ok(1), [offer(KEY_A, 'Low', 0.79)]);
    expect(restarted.history.intervals({ since: 0 }).map((i) => [i.firstSeen, i.lastSeen, i.stock])).toEqual([
      [at(0), at(0), 'High'],
      [at(0) + 1, at(1), 'Low'],
    ]);
    restarted.close();
  });

  it('returns the changes of a poll, against the last state seen even across a gap', () => {
    const { history } = openStore(':memory:');
    expect(history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79)]).map((c) => [c.from, c.to.stock])).toEqual([[null, 'High']]);
    expect(history.recordPoll(ok(1), [offer(KEY_A, 'High', 0.79)])).toEqual([]);
    history.recordPoll({ at: at(2), durationMs: 1, outcome: 'failed', errorKind: 'transient' }, []);
    expect(history.recordPoll(ok(3), [offer(KEY_A, 'High', 0.79)])).toEqual([]);
    expect(history.recordPoll(ok(4), [offer(KEY_A, 'Low', 0.79)]).map((c) => [c.from?.stock, c.to.stock])).toEqual([['High', 'Low']]);
  });

  it('answers a window: one GPU, intervals overlapping [since, until]', () => {
    const { history } = openStore(':memory:');
    for (let p = 0; p < 10; p++) history.recordPoll(ok(p), [offer(KEY_A, p < 5 ? 'High' : 'Low', 0.79), offer(KEY_B, 'Low', 0.36)]);
    expect(history.intervals({ gpuTypeId: 'NVIDIA RTX A6000', since: at(3) }).map((i) => [i.firstSeen, i.lastSeen])).toEqual([
      [at(0), at(4)],
      [at(5), at(9)],
    ]);
    expect(history.intervals({ gpuTypeId: 'NVIDIA RTX A6000', since: at(6) }).map((i) => i.firstSeen)).toEqual([at(5)]);
    expect(history.intervals({ gpuTypeId: 'NVIDIA RTX A6000', since: 0, until: at(2) }).map((i) => i.firstSeen)).toEqual([at(0)]);
    expect(history.intervals({ gpuTypeId: 'nope', since: 0 })).toEqual([]);
  });

  it('prunes what ended before the cutoff, in batches, and keeps the rest', () => {
    const { history } = openStore(':memory:');
    for (let p = 0; p < 20; p++) history.recordPoll(ok(p), [offer(KEY_A, p % 2 ? 'High' : 'Low', 0.79)]);
    expect(history.prune(at(10), 4)).toBe(4);
    expect(history.prune(at(10), 100)).toBe(6);
    expect(history.prune(at(10), 100)).toBe(0);
    expect(history.intervals({ since: 0 }).map((i) => i.firstSeen)).toEqual(Array.from({ length: 10 }, (_, i) => at(10 + i)));
    expect(history.pollRuns(0)).toHaveLength(1);
  });

  it('forgets the open intervals when a write fails, so the next poll does not continue across the lost one', () => {
    const store = openStore(':memory:');
    store.history.recordPoll(ok(0), [offer(KEY_A, 'High', 0.79)]);
    expect(() =>
      store.history.recordPoll(ok(1), [offer(KEY_A, 'High', 0.79)], () => {
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    store.history.recordPoll(ok(2), [offer(KEY_A, 'High', 0.79)]);
    expect(store.history.intervals({ since: 0 }).map((i) => [i.firstSeen, i.polls])).toEqual([
      [at(0), 1],
      [at(2), 1],
    ]);
  });
});

describe('storage encoding', () => {
  it.each([0, 0.0001, 0.36, 0.79, 2.99, 13.5])('price %f survives the round trip', (p) => {
    expect(priceFromE4(priceToE4(p))).toBe(p);
  });

  it.each([[[]], [[1]], [[1, 2, 4, 8]], [[3, 5, 7]], [[1, 2, 3, 4, 5, 6, 7, 8, 10, 16, 32, 52]]])('counts %j survive the round trip', (counts) => {
    expect(countsFromMask(countsToMask(counts))).toEqual(counts);
  });

  it('keeps "RunPod did not say" apart from "no counts"', () => {
    expect(countsFromMask(countsToMask(null))).toBeNull();
    expect(countsFromMask(countsToMask([]))).toEqual([]);
  });
});
