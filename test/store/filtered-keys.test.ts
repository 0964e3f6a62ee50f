import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, openStoreReader } from '../../src/store/store.js';
import type { GpuOffer, WatchKey } from '../../src/runpod/types.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';

const T0 = Date.UTC(2026, 10, 29, 10);
const PLAIN: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
const FILTERED: WatchKey = { ...PLAIN, filters: { cudaVersions: ['12.8'], dataCenterId: 'EU-RO-1' } };
const offer = (key: WatchKey, stock: GpuOffer['stock']): GpuOffer => ({ key, displayName: null, stock, stockRaw: stock, onDemandPrice: 0.79, minBidPrice: null, availableGpuCounts: null });

/** A database as schema 4 left it, with one poll of the unfiltered key and one data-center row. */
function schemaFourDatabase(): string {
  const path = tempDbPath();
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((m) => m.version <= 4)) db.exec(m.sql);
  db.pragma('user_version = 4');
  db.prepare("INSERT INTO market_keys (id, gpu_type_id, gpu_count, cloud) VALUES (7, 'NVIDIA RTX A6000', 1, 'SECURE')").run();
  db.prepare('INSERT INTO intervals (key_id, first_seen, last_seen, polls, stock, on_demand_e4, min_bid_e4, counts) VALUES (7, ?, ?, 1, 3, 7900, NULL, NULL)').run(T0, T0);
  db.prepare("INSERT INTO dc_intervals (key_id, data_center, first_seen, last_seen, polls, stock) VALUES (7, 'EU-RO-1', ?, ?, 1, 3)").run(T0, T0);
  db.close();
  return path;
}

describe('filtered keys in the history', () => {
  it('migration 6 keeps every key row and its history; the unfiltered key goes on under its id', () => {
    const path = schemaFourDatabase();
    const store = openStore(path);
    expect(store.history.intervals({ since: 0 }).map((i) => [i.key, i.stock])).toEqual([[PLAIN, 'High']]);
    expect(store.history.dataCenterIntervals({ since: 0 }).map((i) => [i.key, i.dataCenter])).toEqual([[PLAIN, 'EU-RO-1']]);
    store.history.recordPoll({ at: T0 + 30_000, durationMs: 5, outcome: 'ok' }, [offer(PLAIN, 'High'), offer(FILTERED, 'None')]);
    store.close();
    const rows = onDisk(path, (db) => db.prepare('SELECT id, filters FROM market_keys ORDER BY id').all());
    expect(rows).toEqual([
      { id: 7, filters: '' },
      { id: 8, filters: '{"cudaVersions":["12.8"],"dataCenterId":"EU-RO-1"}' },
    ]);
    expect(onDisk(path, (db) => db.pragma('foreign_key_check'))).toEqual([]);
  });

  it('keeps a filtered key apart from its unfiltered twin, and reads its filters back', () => {
    const store = openStore(':memory:');
    store.history.recordPoll({ at: T0, durationMs: 5, outcome: 'ok' }, [offer(PLAIN, 'High'), offer(FILTERED, 'None')]);
    store.history.recordPoll({ at: T0 + 30_000, durationMs: 5, outcome: 'ok' }, [offer(PLAIN, 'High'), offer(FILTERED, 'Low')]);
    expect(store.history.intervals({ since: 0 }).map((i) => [i.key, i.stock, i.polls])).toEqual([
      [PLAIN, 'High', 2],
      [FILTERED, 'None', 1],
      [FILTERED, 'Low', 1],
    ]);
    store.close();
  });

  it('a reader opens a database from before migration 6 as it is, every key unfiltered', () => {
    const path = schemaFourDatabase();
    const reader = openStoreReader(path);
    expect(reader.history.intervals({ since: 0 }).map((i) => i.key)).toEqual([PLAIN]);
    reader.close();
    expect(onDisk(path, (db) => db.pragma('user_version', { simple: true }))).toBe(4);
  });
});
