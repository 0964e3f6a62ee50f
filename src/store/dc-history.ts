import { keyId, keyLabel, type GpuOffer, type StockLevel, type WatchKey } from '../runpod/types.js';
import { hasTable, type Db } from './db.js';
import { stockFromInt, stockToInt } from './encoding.js';
import { OpenRuns } from './open-runs.js';

/** A stretch of time over which one data center's stock of a key did not change (REST v2 only). */
export interface DataCenterInterval {
  key: WatchKey;
  dataCenter: string;
  stock: StockLevel;
  firstSeen: number;
  lastSeen: number;
  polls: number;
}

/** A key's data-center intervals as JSON gives them (`history --json`, /api/history). */
export interface DataCenterHistoryJson {
  key: WatchKey;
  /** The key as people read it (`keyLabel`). */
  label: string;
  intervals: { dataCenter: string; stock: StockLevel; firstSeen: string; lastSeen: string; polls: number }[];
}

/**
 * Data-center intervals as JSON: grouped per key (the key written once, not on every row), each
 * key's intervals by data center then time, times as ISO strings.
 */
export function dataCentersToJson(intervals: readonly DataCenterInterval[]): DataCenterHistoryJson[] {
  const byKey = new Map<string, DataCenterHistoryJson>();
  for (const { key, dataCenter, stock, firstSeen, lastSeen, polls } of intervals) {
    const id = keyId(key);
    const group = byKey.get(id) ?? { key, label: keyLabel(key), intervals: [] };
    byKey.set(id, group);
    group.intervals.push({ dataCenter, stock, firstSeen: new Date(firstSeen).toISOString(), lastSeen: new Date(lastSeen).toISOString(), polls });
  }
  return [...byKey.values()];
}

interface OpenRun {
  firstSeen: number;
  stock: number;
}

type Row = [dataCenter: string, firstSeen: number, lastSeen: number, polls: number, stock: number];

/**
 * The per-data-center side of the market history: one row per (key, data center) and unchanged
 * stock level, kept by the same rules as the main intervals. A run continues only from the poll
 * just before in this process, so a failed poll, a key or data center missing from a poll, or a
 * restart starts a new row. MarketHistory drives it inside its poll transaction: `record` per
 * offer, then `commit` once the transaction committed, or `forget` when it did not.
 */
export class DataCenterHistory extends OpenRuns<string, OpenRun> {
  private readonly sql: ReturnType<typeof statements> | undefined;

  constructor(db: Db) {
    super();
    this.sql = hasTable(db, 'dc_intervals') ? statements(db) : undefined;
  }

  /** Writes one offer's data centers for a poll at `at` (inside the caller's transaction). */
  record(keyRow: number, offer: GpuOffer, at: number): void {
    const sql = this.sql;
    if (!sql) return;
    for (const dc of offer.dataCenters ?? []) {
      const id = `${keyRow}|${dc.id}`;
      if (this.carried(id)) continue; // a data center listed twice in one answer counts once
      const stock = stockToInt(dc.stock);
      const previous = this.previous(id);
      if (previous && previous.stock === stock) {
        sql.extend.run(at, keyRow, dc.id, previous.firstSeen);
        this.carry(id, previous);
        continue;
      }
      // As for the main intervals: a clock set back across a restart moves the start a millisecond on.
      let firstSeen = at;
      while (sql.insert.run({ key: keyRow, dc: dc.id, first: firstSeen, at, stock }).changes === 0) firstSeen++;
      this.carry(id, { firstSeen, stock });
    }
  }

  /** A key's data-center intervals overlapping [since, until], by data center then time. */
  intervals(keyRow: number, key: WatchKey, since: number, until: number): DataCenterInterval[] {
    if (!this.sql) return [];
    return this.sql.ofKey.all({ key: keyRow, since, until }).map(([dataCenter, firstSeen, lastSeen, polls, stock]) => ({
      key,
      dataCenter,
      stock: stockFromInt(stock),
      firstSeen,
      lastSeen,
      polls,
    }));
  }

  /** Deletes up to `limit` of a key's data-center intervals that ended before `cutoff`; returns how many. */
  prune(keyRow: number, cutoff: number, limit: number): number {
    return this.sql ? this.sql.prune.run({ key: keyRow, cutoff, limit }).changes : 0;
  }
}

function statements(db: Db) {
  return {
    insert: db.prepare(
      `INSERT OR IGNORE INTO dc_intervals (key_id, data_center, first_seen, last_seen, polls, stock)
       VALUES ($key, $dc, $first, max($first, $at), 1, $stock)`,
    ),
    extend: db.prepare('UPDATE dc_intervals SET last_seen = ?, polls = polls + 1 WHERE key_id = ? AND data_center = ? AND first_seen = ?'),
    ofKey: db
      .prepare<{ key: number; since: number; until: number }, Row>(
        `SELECT data_center, first_seen, last_seen, polls, stock FROM dc_intervals
         WHERE key_id = $key AND last_seen >= $since AND first_seen <= $until
         ORDER BY data_center, first_seen`,
      )
      .raw(true),
    prune: db.prepare(
      `DELETE FROM dc_intervals WHERE (key_id, data_center, first_seen) IN
         (SELECT key_id, data_center, first_seen FROM dc_intervals WHERE key_id = $key AND last_seen < $cutoff LIMIT $limit)`,
    ),
  };
}
