import { keyId, keyLabel, type Cloud, type GpuOffer, type StockLevel, type WatchFilters, type WatchKey } from '../runpod/types.js';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import { DataCenterHistory, type DataCenterInterval } from './dc-history.js';
import { FleetHistory, type FleetInterval } from './fleet-history.js';
import { countsFromMask, countsToMask, priceFromE4, priceToE4, stockFromInt, stockToInt } from './encoding.js';

/** How one poll ended: every key answered, some dropped, or no answer at all. */
export type PollOutcome = 'ok' | 'partial' | 'failed';

/** One poll, as the loop reports it. */
export interface PollRecord {
  at: number;
  durationMs: number;
  outcome: PollOutcome;
  errorKind?: string | undefined;
  error?: string | undefined;
}

/** The recorded state of a key: what an interval holds. */
export interface MarketState {
  stock: StockLevel;
  onDemandPrice: number | null;
  minBidPrice: number | null;
  availableGpuCounts: number[] | null;
}

/** A stretch of time over which a key's state did not change. */
export interface HistoryInterval extends MarketState {
  key: WatchKey;
  firstSeen: number;
  lastSeen: number;
  polls: number;
}

/** An interval as JSON gives it (`history --json`, /api/history): times as ISO strings, and the key's readable label. */
export function intervalToJson(interval: HistoryInterval): Omit<HistoryInterval, 'firstSeen' | 'lastSeen'> & { label: string; firstSeen: string; lastSeen: string } {
  return { label: keyLabel(interval.key), ...interval, firstSeen: new Date(interval.firstSeen).toISOString(), lastSeen: new Date(interval.lastSeen).toISOString() };
}

/** A key's filters as the `filters` column keeps them: canonical JSON ('' for none), so equal filters are one row. */
const filtersColumn = (f: WatchFilters | undefined): string => (f ? JSON.stringify(f) : '');

/** A key from its columns; a stored '' is no filters (an unfiltered key, exactly as before filters existed). */
function keyOfRow(gpuTypeId: string, gpuCount: number, cloud: Cloud, filters: string): WatchKey {
  return filters ? { gpuTypeId, gpuCount, cloud, filters: JSON.parse(filters) as WatchFilters } : { gpuTypeId, gpuCount, cloud };
}

/** A run of consecutive polls with the same outcome. */
export interface PollRun {
  outcome: PollOutcome;
  errorKind: string | null;
  error: string | null;
  firstAt: number;
  lastAt: number;
  polls: number;
  durationMsTotal: number;
  durationMsMax: number;
}

/** A key whose state differs from the last time it was seen. */
export interface StateChange {
  key: WatchKey;
  from: MarketState | null;
  to: MarketState;
}

/** Which intervals a history query wants: one GPU type or all, over [since, until]. */
type IntervalQuery = { gpuTypeId?: string | undefined; since: number; until?: number };

interface OpenInterval {
  keyRow: number;
  firstSeen: number;
  signature: string;
}

interface EncodedState {
  stock: number;
  od: number | null;
  bid: number | null;
  counts: number | null;
}

// A row of INTERVAL_COLUMNS, read as an array: history queries return thousands of rows, and
// arrays skip building a keyed object per row.
type IntervalRow = [gpuTypeId: string, gpuCount: number, cloud: Cloud, filters: string, firstSeen: number, lastSeen: number, polls: number, stock: number, onDemandE4: number | null, minBidE4: number | null, counts: number | null];

const encode = (o: GpuOffer): EncodedState => ({
  stock: stockToInt(o.stock),
  od: priceToE4(o.onDemandPrice),
  bid: priceToE4(o.minBidPrice),
  counts: countsToMask(o.availableGpuCounts),
});
const signatureOf = (s: EncodedState): string => `${s.stock}|${s.od}|${s.bid}|${s.counts}`;
const stateOf = (o: GpuOffer): MarketState => ({ stock: o.stock, onDemandPrice: o.onDemandPrice, minBidPrice: o.minBidPrice, availableGpuCounts: o.availableGpuCounts });

const intervalColumns = (filters: string): string => `k.gpu_type_id, k.gpu_count, k.cloud, ${filters === 'filters' ? 'k.filters' : filters}, i.first_seen, i.last_seen, i.polls, i.stock, i.on_demand_e4, i.min_bid_e4, i.counts`;

function toInterval([gpuTypeId, gpuCount, cloud, filters, firstSeen, lastSeen, polls, stock, od, bid, counts]: IntervalRow): HistoryInterval {
  return {
    key: keyOfRow(gpuTypeId, gpuCount, cloud, filters),
    firstSeen,
    lastSeen,
    polls,
    stock: stockFromInt(stock),
    onDemandPrice: priceFromE4(od),
    minBidPrice: priceFromE4(bid),
    availableGpuCounts: countsFromMask(counts),
  };
}

/**
 * The market history: records each poll as change intervals and poll runs, and answers history
 * queries. An interval (and a poll run) is continued only from the poll just before, in this same
 * process, so a failed poll, a dropped key or a restart shows as a gap instead of a false
 * continuation. That "previous poll" lives in memory and is replaced only after a commit.
 */
export class MarketHistory {
  private open = new Map<string, OpenInterval>();
  private lastKnown = new Map<string, { signature: string; state: MarketState }>();
  private run: { id: number; outcome: PollOutcome; errorKind: string | null } | undefined;
  private readonly keyRows = new Map<string, number>();
  private readonly dataCenters: DataCenterHistory;
  private readonly fleet: FleetHistory;
  private readonly sql;
  /** Prepared on the first write: a reader of a database from before migration 6 has no `filters` column to write. */
  private keySql: { insertKey: Database.Statement<[string, number, string, string]>; selectKey: Database.Statement<[string, number, string, string], { id: number }> } | undefined;

  constructor(private readonly db: Db) {
    this.dataCenters = new DataCenterHistory(db);
    this.fleet = new FleetHistory(db);
    // A reader beside an older daemon may open a database from before migration 6: all unfiltered.
    const filters = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('market_keys')").all().some((c) => c.name === 'filters') ? 'filters' : "''";
    this.sql = {
      insertInterval: db.prepare(
        `INSERT OR IGNORE INTO intervals (key_id, first_seen, last_seen, polls, stock, on_demand_e4, min_bid_e4, counts)
         VALUES ($key, $first, max($first, $at), 1, $stock, $od, $bid, $counts)`,
      ),
      extendInterval: db.prepare('UPDATE intervals SET last_seen = ?, polls = polls + 1 WHERE key_id = ? AND first_seen = ?'),
      insertRun: db.prepare(
        'INSERT INTO poll_runs (outcome, error_kind, error, first_at, last_at, polls, duration_ms_total, duration_ms_max) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
      ),
      extendRun: db.prepare(
        'UPDATE poll_runs SET last_at = ?, polls = polls + 1, error = ?, duration_ms_total = duration_ms_total + ?, duration_ms_max = max(duration_ms_max, ?) WHERE id = ?',
      ),
      keyRowsFor: db.prepare<[string | null, string | null], { id: number; gpuTypeId: string; gpuCount: number; cloud: Cloud; filters: string }>(
        `SELECT id, gpu_type_id AS gpuTypeId, gpu_count AS gpuCount, cloud, ${filters} AS filters FROM market_keys WHERE (? IS NULL OR gpu_type_id = ?) ORDER BY gpu_type_id, gpu_count, cloud, ${filters}`,
      ),
      intervalsOfKey: db.prepare<{ key: number; since: number; until: number }, IntervalRow>(
        `SELECT ${intervalColumns(filters)} FROM intervals i JOIN market_keys k ON k.id = i.key_id
         WHERE i.key_id = $key AND i.last_seen >= $since AND i.first_seen <= $until
           AND i.first_seen >= coalesce((SELECT max(first_seen) FROM intervals WHERE key_id = $key AND first_seen <= $since), 0)
         ORDER BY i.first_seen`,
      ).raw(true),
      runsSince: db.prepare<[number], Record<string, unknown>>('SELECT * FROM poll_runs WHERE last_at >= ? ORDER BY first_at'),
      lastRun: db.prepare<[], Record<string, unknown>>('SELECT * FROM poll_runs ORDER BY id DESC LIMIT 1'),
      allKeyRows: db.prepare<[], { id: number }>('SELECT id FROM market_keys'),
      pruneIntervals: db.prepare(
        'DELETE FROM intervals WHERE key_id = $key AND first_seen IN (SELECT first_seen FROM intervals WHERE key_id = $key AND first_seen < $cutoff AND last_seen < $cutoff LIMIT $limit)',
      ),
      pruneRuns: db.prepare('DELETE FROM poll_runs WHERE id IN (SELECT id FROM poll_runs WHERE last_at < ? LIMIT ?)'),
    };
  }

  /**
   * Records one poll in one transaction: its poll run, and for each offer either a longer interval
   * (same state as the previous poll) or a new one. `alsoWrite` adds the cycle's other writes
   * (events, state) to the same transaction. Returns the keys whose state changed.
   */
  recordPoll(poll: PollRecord, offers: readonly GpuOffer[], alsoWrite?: () => void): StateChange[] {
    const next = new Map<string, OpenInterval>();
    const changes: StateChange[] = [];
    const write = this.db.transaction(() => {
      alsoWrite?.();
      const runId = this.writeRun(poll);
      for (const offer of offers) {
        const id = keyId(offer.key);
        const encoded = encode(offer);
        const signature = signatureOf(encoded);
        const previous = this.open.get(id);
        const keyRow = previous?.keyRow ?? this.keyRow(offer.key);
        if (previous && previous.signature === signature) {
          this.sql.extendInterval.run(poll.at, keyRow, previous.firstSeen);
          next.set(id, previous);
        } else {
          // A wall clock set back across a restart can land on an instant a key already has an
          // interval for; the new one then starts a millisecond later instead of failing the poll.
          let firstSeen = poll.at;
          while (this.sql.insertInterval.run({ key: keyRow, first: firstSeen, at: poll.at, ...encoded }).changes === 0) firstSeen++;
          next.set(id, { keyRow, firstSeen, signature });
        }
        this.dataCenters.record(keyRow, offer, poll.at);
        this.fleet.record(keyRow, offer, poll.at);
      }
      return runId;
    });
    let runId: number;
    try {
      runId = write();
    } catch (error) {
      // The poll was not stored: the next one must not continue across it.
      this.open = new Map();
      this.run = undefined;
      this.dataCenters.forget();
      this.fleet.forget();
      throw error;
    }
    // Only now, after the commit, does this poll become "the previous poll".
    this.run = { id: runId, outcome: poll.outcome, errorKind: poll.errorKind ?? null };
    this.open = next;
    this.dataCenters.commit();
    this.fleet.commit();
    for (const offer of offers) {
      const id = keyId(offer.key);
      const before = this.lastKnown.get(id);
      const signature = next.get(id)?.signature ?? '';
      if (before?.signature === signature) continue;
      const now = stateOf(offer);
      changes.push({ key: offer.key, from: before?.state ?? null, to: now });
      this.lastKnown.set(id, { signature, state: now });
    }
    return changes;
  }

  /** Intervals overlapping [since, until], for one GPU type or all, ordered by key then time. */
  intervals(query: IntervalQuery): HistoryInterval[] {
    return this.perKey(query, (id, _key, until) => this.sql.intervalsOfKey.all({ key: id, since: query.since, until }).map(toInterval));
  }

  /** The keys with recorded history (machine filters included), for one GPU type or all, ordered by GPU type, count, cloud, filters. */
  keys(gpuTypeId?: string): WatchKey[] {
    const gpu = gpuTypeId ?? null;
    return this.sql.keyRowsFor.all(gpu, gpu).map(({ gpuTypeId: id, gpuCount, cloud, filters }) => keyOfRow(id, gpuCount, cloud, filters));
  }

  /** One key's intervals overlapping [since, until], oldest first; none for a key never recorded. */
  intervalsOfKey(key: WatchKey, since: number, until: number): HistoryInterval[] {
    const wanted = keyId(key);
    const row = this.sql.keyRowsFor.all(key.gpuTypeId, key.gpuTypeId).find((r) => keyId(keyOfRow(r.gpuTypeId, r.gpuCount, r.cloud, r.filters)) === wanted);
    return row ? this.sql.intervalsOfKey.all({ key: row.id, since, until }).map(toInterval) : [];
  }

  /**
   * Per-data-center stock intervals (REST v2 only) overlapping [since, until], for one GPU type or
   * all, ordered by key, data center, then time.
   */
  dataCenterIntervals(query: IntervalQuery): DataCenterInterval[] {
    return this.perKey(query, (id, key, until) => this.dataCenters.intervals(id, key, query.since, until));
  }

  /** Fleet intervals (GraphQL only) overlapping [since, until], for one GPU type or all, ordered by key then time. */
  fleetIntervals(query: IntervalQuery): FleetInterval[] {
    return this.perKey(query, (id, key, until) => this.fleet.intervals(id, key, query.since, until));
  }

  private perKey<T>(query: IntervalQuery, read: (keyRow: number, key: WatchKey, until: number) => T[]): T[] {
    const gpu = query.gpuTypeId ?? null;
    const until = query.until ?? Number.MAX_SAFE_INTEGER;
    return this.sql.keyRowsFor
      .all(gpu, gpu)
      .flatMap(({ id, gpuTypeId, gpuCount, cloud, filters }) => read(id, keyOfRow(gpuTypeId, gpuCount, cloud, filters), until));
  }

  /** Poll runs that ended at or after `since`, oldest first. */
  pollRuns(since: number): PollRun[] {
    return this.sql.runsSince.all(since).map(toRun);
  }

  /** The most recent poll run, if any poll was ever recorded. */
  lastPollRun(): PollRun | undefined {
    const row = this.sql.lastRun.get();
    return row ? toRun(row) : undefined;
  }

  /**
   * Deletes up to `limit` intervals (data centers' too) and poll runs that ended before `cutoff`; returns how many.
   * Small batches keep each write short, so pruning never holds up a poll.
   */
  prune(cutoff: number, limit: number): number {
    let deleted = 0;
    for (const { id } of this.sql.allKeyRows.all()) {
      if (deleted >= limit) break;
      deleted += this.sql.pruneIntervals.run({ key: id, cutoff, limit: limit - deleted }).changes;
      if (deleted < limit) deleted += this.dataCenters.prune(id, cutoff, limit - deleted);
      if (deleted < limit) deleted += this.fleet.prune(id, cutoff, limit - deleted);
    }
    if (deleted < limit) deleted += this.sql.pruneRuns.run(cutoff, limit - deleted).changes;
    return deleted;
  }

  private writeRun(poll: PollRecord): number {
    const errorKind = poll.errorKind ?? null;
    const current = this.run;
    if (current && current.outcome === poll.outcome && current.errorKind === errorKind) {
      this.sql.extendRun.run(poll.at, poll.error ?? null, poll.durationMs, poll.durationMs, current.id);
      return current.id;
    }
    return Number(this.sql.insertRun.run(poll.outcome, errorKind, poll.error ?? null, poll.at, poll.at, poll.durationMs, poll.durationMs).lastInsertRowid);
  }

  private keyRow(key: WatchKey): number {
    const id = keyId(key);
    const cached = this.keyRows.get(id);
    if (cached !== undefined) return cached;
    this.keySql ??= {
      insertKey: this.db.prepare('INSERT OR IGNORE INTO market_keys (gpu_type_id, gpu_count, cloud, filters) VALUES (?, ?, ?, ?)'),
      selectKey: this.db.prepare<[string, number, string, string], { id: number }>('SELECT id FROM market_keys WHERE gpu_type_id = ? AND gpu_count = ? AND cloud = ? AND filters = ?'),
    };
    this.keySql.insertKey.run(key.gpuTypeId, key.gpuCount, key.cloud, filtersColumn(key.filters));
    const row = this.keySql.selectKey.get(key.gpuTypeId, key.gpuCount, key.cloud, filtersColumn(key.filters));
    if (!row) throw new Error(`market key ${id} was not stored`);
    this.keyRows.set(id, row.id);
    return row.id;
  }
}

function toRun(row: Record<string, unknown>): PollRun {
  return {
    outcome: row.outcome as PollOutcome,
    errorKind: (row.error_kind as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    firstAt: row.first_at as number,
    lastAt: row.last_at as number,
    polls: row.polls as number,
    durationMsTotal: row.duration_ms_total as number,
    durationMsMax: row.duration_ms_max as number,
  };
}
