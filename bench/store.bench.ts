import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, type Store } from '../src/store/store.js';
import { countsToMask, priceToE4, stockToInt } from '../src/store/encoding.js';
import { BenchFleet, BenchMarket, benchKeys } from './market-sim.js';
import { ms, quantile, timeMs } from './stats.js';

const POLL_MS = 30_000;
const POLLS_PER_DAY = 86_400_000 / POLL_MS;
const T0 = Date.UTC(2026, 0, 1);

const fileSize = (db: Database.Database): number => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
const liveSize = (db: Database.Database): number =>
  ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * (db.pragma('page_size', { simple: true }) as number);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Per-cycle store cost: one recordPoll of 50 keys on a file database with the real pragmas. */
async function cycleCost(dir: string): Promise<void> {
  const cycles = 2_000;
  const store = openStore(join(dir, 'cycle.db'));
  const market = new BenchMarket(benchKeys(50));
  const samples: number[] = [];
  for (let poll = 0; poll < cycles; poll++) {
    const offers = market.at(poll);
    samples.push(await timeMs(() => store.history.recordPoll({ at: T0 + poll * POLL_MS, durationMs: 40, outcome: 'ok' }, offers)));
  }
  store.close();
  console.log(`  store cost per cycle, 50 keys, file DB (WAL, synchronous=NORMAL), ${cycles} cycles: median ${ms(quantile(samples, 0.5))}, p99 ${ms(quantile(samples, 0.99))}`);
}

/** The size of one row per poll per key, measured on one simulated day, in two common designs. */
function perPollBytesPerDay(dir: string, keys: number): { compact: number; conventional: number } {
  const db = new Database(join(dir, 'per-poll.db'));
  db.exec(`
    CREATE TABLE compact (id INTEGER PRIMARY KEY, key_id INTEGER, at INTEGER, stock INTEGER, od INTEGER, bid INTEGER, counts INTEGER);
    CREATE INDEX compact_by_key ON compact (key_id, at);
    CREATE TABLE conventional (id INTEGER PRIMARY KEY, gpu_key TEXT, at INTEGER, stock TEXT, on_demand REAL, min_bid REAL, counts TEXT);
    CREATE INDEX conventional_by_key ON conventional (gpu_key, at);`);
  const market = new BenchMarket(benchKeys(keys));
  const compact = db.prepare('INSERT INTO compact (key_id, at, stock, od, bid, counts) VALUES (?, ?, ?, ?, ?, ?)');
  const conventional = db.prepare('INSERT INTO conventional (gpu_key, at, stock, on_demand, min_bid, counts) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let poll = 0; poll < POLLS_PER_DAY; poll++) {
      market.at(poll).forEach((o, k) => {
        const at = T0 + poll * POLL_MS;
        compact.run(k, at, stockToInt(o.stock), priceToE4(o.onDemandPrice), priceToE4(o.minBidPrice), countsToMask(o.availableGpuCounts));
        conventional.run(`${o.key.gpuTypeId}|${o.key.gpuCount}|${o.key.cloud}`, at, o.stock, o.onDemandPrice, o.minBidPrice, JSON.stringify(o.availableGpuCounts));
      });
    }
  })();
  const size = (table: string): number =>
    (db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name IN (?, ?)").get(table, `${table}_by_key`) as { bytes: number }).bytes;
  const result = { compact: size('compact'), conventional: size('conventional') };
  db.close();
  return result;
}

/** The simulated history: 30 s polls from T0 on `keys` keys, each changing every 5-30 min at random. */
export const SIMULATED = { keys: 40, pollMs: POLL_MS, start: T0, end: (days: number): number => T0 + days * POLLS_PER_DAY * POLL_MS };

/** How many days to simulate: BENCH_DAYS shortens it for a quick look; the figure to report is the full year. */
export const simulatedDays = (): number => Number(process.env.BENCH_DAYS ?? 365);

/**
 * Records `days` of the simulated market through the real recorder into a new database at `path`;
 * returns the open store and the seconds it took.
 */
export function simulateHistory(path: string, days: number): { store: Store; seconds: number } {
  const store = openStore(path);
  const market = new BenchMarket(benchKeys(SIMULATED.keys));
  const started = Date.now();
  // One outer transaction per simulated day: each poll is still its own (nested) transaction, but
  // a year of fsyncs would only measure the disk.
  for (let d = 0; d < days; d++) {
    store.transaction(() => {
      for (let p = 0; p < POLLS_PER_DAY; p++) {
        const poll = d * POLLS_PER_DAY + p;
        store.history.recordPoll({ at: T0 + poll * POLL_MS, durationMs: 40, outcome: 'ok' }, market.at(poll));
      }
    });
  }
  return { store, seconds: (Date.now() - started) / 1000 };
}

/** A simulated year of 30 s polls on 40 keys through the real recorder, then its size and a query. */
async function yearOfHistory(dir: string): Promise<void> {
  const keys = SIMULATED.keys;
  const days = simulatedDays();
  const path = join(dir, 'year.db');
  const { store, seconds } = simulateHistory(path, days);
  // The file is measured on a connection of its own, as the sqlite3 shell would: the store has no raw handle.
  const disk = new Database(path);
  disk.pragma('wal_checkpoint(TRUNCATE)');
  const intervals = (disk.prepare('SELECT count(*) AS n FROM intervals').get() as { n: number }).n;
  const yearBytes = fileSize(disk);
  const perPoll = perPollBytesPerDay(dir, keys);
  console.log(`  ${days === 365 ? 'one simulated year' : `${days} simulated days`}: ${keys} keys, 30 s polls (${(days * POLLS_PER_DAY).toLocaleString('en')} polls), each key changing every 5-30 min at random; simulated in ${seconds.toFixed(0)} s`);
  console.log(`    intervals: ${intervals.toLocaleString('en')} rows, database ${mb(yearBytes)} (${(yearBytes / intervals).toFixed(1)} bytes per interval, all tables and indexes)`);
  for (const [design, bytesPerDay] of Object.entries(perPoll)) {
    const year = bytesPerDay * days;
    console.log(`    vs one row per poll per key, ${design} design (1 day measured, x ${days}): ${mb(year)}, ${(year / yearBytes).toFixed(0)}x larger`);
  }

  const end = T0 + days * POLLS_PER_DAY * POLL_MS;
  const queries: number[] = [];
  let rows = 0;
  for (let i = 0; i < 50; i++) queries.push(await timeMs(() => (rows = store.history.intervals({ gpuTypeId: 'GPU 7', since: end - 30 * 86_400_000 }).length)));
  console.log(`    30-day history query for one key (${rows} intervals): median ${ms(quantile(queries, 0.5))}, p99 ${ms(quantile(queries, 0.99))} (goal <= 10 ms)`);

  let pruned = 0;
  const pruneStarted = Date.now();
  for (let n = 1; n > 0; ) pruned += n = store.history.prune(end - 90 * 86_400_000, 1_000);
  console.log(`    pruning to the default 90 d retention: ${pruned.toLocaleString('en')} rows in batches of 1,000, ${((Date.now() - pruneStarted) / 1000).toFixed(1)} s; live data then ${mb(liveSize(disk))}`);
  disk.close();
  store.close();
}

/** The bytes the named tables (with their indexes) take, from SQLite's dbstat. */
function tableBytes(db: Database.Database, tables: readonly string[]): number {
  const row = db.prepare(`SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name IN (${tables.map(() => '?').join(', ')})`).get(...tables) as { bytes: number };
  return row.bytes;
}

/**
 * History bytes per key-day with GraphQL's fleet figures against without, on the benchmark market
 * plus a busy fleet (BenchFleet: the rented count moves every poll), through the real recorder. For
 * scale, the same fleet kept exactly (a new row whenever rentedCount changes) in a table shaped
 * like fleet_intervals.
 */
function fleetBytesPerKeyDay(dir: string): void {
  const keys = 40;
  const days = Math.min(7, Number(process.env.BENCH_DAYS ?? 7));
  const polls = days * POLLS_PER_DAY;
  const record = (name: string, withFleet: boolean): { bytes: number; fleetRows: number; exactRows: number } => {
    const path = join(dir, `${name}.db`);
    const store = openStore(path);
    const market = new BenchMarket(benchKeys(keys));
    const fleet = new BenchFleet(keys);
    const last = new Map<string, string>();
    let exactRows = 0;
    for (let d = 0; d < days; d++) {
      store.transaction(() => {
        for (let p = 0; p < POLLS_PER_DAY; p++) {
          const poll = d * POLLS_PER_DAY + p;
          const offers = withFleet ? fleet.at(poll, market.at(poll)) : market.at(poll);
          store.history.recordPoll({ at: T0 + poll * POLL_MS, durationMs: 40, outcome: 'ok' }, offers);
          for (const o of offers) {
            const figures = JSON.stringify(o.fleet ?? null);
            if (o.fleet && last.get(o.key.gpuTypeId) !== figures) exactRows++;
            last.set(o.key.gpuTypeId, figures);
          }
        }
      });
    }
    store.close();
    const disk = new Database(path);
    disk.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = tableBytes(disk, ['intervals', 'fleet_intervals']);
    const fleetRows = (disk.prepare('SELECT count(*) AS n FROM fleet_intervals').get() as { n: number }).n;
    disk.close();
    return { bytes, fleetRows, exactRows };
  };
  const without = record('no-fleet', false);
  const banded = record('fleet', true);
  // The exact alternative: every change of the figures a row of its own, in the same row shape.
  const exactBytes = banded.exactRows * ((banded.bytes - without.bytes) / Math.max(1, banded.fleetRows));
  const perKeyDay = (bytes: number): string => `${(bytes / (keys * days)).toFixed(0)} bytes`;
  console.log(`  fleet figures: ${keys} keys, ${days} simulated days of 30 s polls (${polls.toLocaleString('en')} polls); stock and prices change every 5-30 min, each fleet (40-2,000 GPUs) rents or frees up to 0.5% of itself every poll and changes size every 2-12 h`);
  console.log(`    history without fleet figures (REST v2): ${perKeyDay(without.bytes)} per key-day (intervals table, dbstat)`);
  console.log(`    with them, banded (5% of the fleet): ${perKeyDay(banded.bytes)} per key-day (intervals + fleet_intervals; ${(banded.fleetRows / (keys * days)).toFixed(1)} fleet rows per key-day)`);
  console.log(`    had every change of rentedCount opened a row: ~${perKeyDay(without.bytes + exactBytes)} per key-day (${(banded.exactRows / (keys * days)).toFixed(0)} fleet rows per key-day, at the banded rows' measured size)`);
}

/** Store benchmarks: per-cycle cost, a year's size against one row per poll, a 30-day query. */
export async function storeBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  console.log('store:');
  try {
    await cycleCost(dir);
    fleetBytesPerKeyDay(dir);
    await yearOfHistory(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
