import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { GpuOffer, StockLevel, WatchKey } from '../../src/runpod/types.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, openStoreReader } from '../../src/store/store.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { KEY_A, KEY_B, offer } from '../helpers/offers.js';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const at = (poll: number): number => T0 + poll * 30_000;
const ok = (poll: number) => ({ at: at(poll), durationMs: 40, outcome: 'ok' as const });
/** An offer as REST v2 gives it: with its data centers' levels. */
const v2 = (key: WatchKey, levels: Record<string, StockLevel>, extra: Partial<GpuOffer> = {}): GpuOffer =>
  offer(key, 'High', 0.79, { dataCenters: Object.entries(levels).map(([id, stock]) => ({ id, name: null, stock })), ...extra });
const rows = (history: { dataCenterIntervals(q: { since: number }): { key: WatchKey; dataCenter: string; stock: StockLevel; firstSeen: number; lastSeen: number; polls: number }[] }) =>
  history.dataCenterIntervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.dataCenter, i.stock, i.firstSeen, i.lastSeen, i.polls]);

describe('per-data-center history', () => {
  it('stores the level as the same small integer as the main intervals, one row per change', () => {
    const path = tempDbPath();
    const store = openStore(path);
    store.history.recordPoll(ok(0), [v2(KEY_A, { 'US-TX-3': 'None', 'EU-SE-1': 'Low' })]);
    store.history.recordPoll(ok(1), [v2(KEY_A, { 'US-TX-3': 'Medium', 'EU-SE-1': 'Low' })]);
    store.history.recordPoll(ok(2), [v2(KEY_A, { 'US-TX-3': 'High', 'EU-SE-1': 'Low' })]);
    store.close();
    expect(onDisk(path, (db) => db.prepare('SELECT data_center, first_seen, last_seen, polls, stock FROM dc_intervals ORDER BY data_center, first_seen').raw().all())).toEqual([
      ['EU-SE-1', at(0), at(2), 3, 1],
      ['US-TX-3', at(0), at(0), 1, 0],
      ['US-TX-3', at(1), at(1), 1, 2],
      ['US-TX-3', at(2), at(2), 1, 3],
    ]);
  });

  it('lets a poll that was not stored continue nothing: the next one starts new rows', () => {
    const path = tempDbPath();
    const store = openStore(path);
    store.history.recordPoll(ok(0), [v2(KEY_A, { 'US-TX-3': 'High' }), offer(KEY_B, 'Low', 0.36)]);
    // The disk refuses the second key's new interval: the whole poll rolls back, A's data center too.
    onDisk(path, (db) =>
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON intervals WHEN NEW.key_id = (SELECT id FROM market_keys WHERE gpu_type_id = '${KEY_B.gpuTypeId}')
               BEGIN SELECT RAISE(ABORT, 'disk full'); END`),
    );
    expect(() => store.history.recordPoll(ok(1), [v2(KEY_A, { 'US-TX-3': 'High' }), offer(KEY_B, 'None', null)])).toThrow(/disk full/);
    onDisk(path, (db) => db.exec('DROP TRIGGER refuse'));
    store.history.recordPoll(ok(2), [v2(KEY_A, { 'US-TX-3': 'High' }), offer(KEY_B, 'None', null)]);
    expect(rows(store.history)).toEqual([
      [KEY_A.gpuTypeId, 'US-TX-3', 'High', at(0), at(0), 1],
      [KEY_A.gpuTypeId, 'US-TX-3', 'High', at(2), at(2), 1],
    ]);
    store.close();
  });

  it('keeps the keys apart, counts a data center listed twice in one answer once, and survives a clock set back across a restart', () => {
    const path = tempDbPath();
    const before = openStore(path);
    before.history.recordPoll(ok(0), [v2(KEY_A, { 'US-TX-3': 'High' }), v2(KEY_B, { 'US-TX-3': 'Low' })]);
    const twice = v2(KEY_A, { 'US-TX-3': 'High' });
    twice.dataCenters?.push({ id: 'US-TX-3', name: null, stock: 'None' });
    before.history.recordPoll(ok(1), [twice, v2(KEY_B, { 'US-TX-3': 'Low' })]);
    before.close();
    const restarted = openStore(path);
    restarted.history.recordPoll(ok(0), [v2(KEY_A, { 'US-TX-3': 'High' })]); // the clock went back to poll 0's instant
    expect(rows(restarted.history)).toEqual([
      [KEY_B.gpuTypeId, 'US-TX-3', 'Low', at(0), at(1), 2],
      [KEY_A.gpuTypeId, 'US-TX-3', 'High', at(0), at(1), 2],
      [KEY_A.gpuTypeId, 'US-TX-3', 'High', at(0) + 1, at(0) + 1, 1],
    ]);
    restarted.close();
  });

  it('is pruned with the rest of the history, in the same batches', () => {
    const { history } = openStore(':memory:');
    history.recordPoll(ok(0), [v2(KEY_A, { 'US-TX-3': 'High', 'EU-SE-1': 'Low', 'EU-RO-1': 'None' })]);
    history.recordPoll(ok(10), [v2(KEY_A, { 'US-TX-3': 'Low', 'EU-SE-1': 'None', 'EU-RO-1': 'Low' }, { onDemandPrice: 0.81 })]);
    // Poll 0's main interval and its three data-center rows (the poll run goes on): 4 rows, 3 at a time.
    expect(history.prune(at(5), 3)).toBe(3);
    expect(history.prune(at(5), 3)).toBe(1);
    expect(history.prune(at(5), 3)).toBe(0);
    expect(rows(history)).toEqual([
      [KEY_A.gpuTypeId, 'EU-RO-1', 'Low', at(10), at(10), 1],
      [KEY_A.gpuTypeId, 'EU-SE-1', 'None', at(10), at(10), 1],
      [KEY_A.gpuTypeId, 'US-TX-3', 'Low', at(10), at(10), 1],
    ]);
    expect(history.intervals({ since: 0 }).map((i) => i.firstSeen)).toEqual([at(10)]);
  });

  it('reads a database from before migration 4 (an older daemon still running) as having none', () => {
    const path = tempDbPath();
    const db = new Database(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) db.exec(m.sql);
    db.pragma('user_version = 3');
    db.close();
    const reader = openStoreReader(path);
    expect(reader.history.dataCenterIntervals({ since: 0 })).toEqual([]);
    expect(reader.history.intervals({ since: 0 })).toEqual([]);
    reader.close();
    expect(onDisk(path, (d) => d.pragma('user_version', { simple: true }))).toBe(3);
  });
});
