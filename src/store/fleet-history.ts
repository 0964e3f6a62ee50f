import { keyId, keyLabel, type FleetFigures, type GpuOffer, type WatchKey } from '../runpod/types.js';
import { hasTable, type Db } from './db.js';
import { priceFromE4, priceToE4 } from './encoding.js';
import { OpenRuns } from './open-runs.js';

/**
 * A stretch of time over which a key's fleet stayed the same size and its rented count moved within
 * one band (GraphQL only): the range of each figure over the stretch, null where RunPod gave none.
 */
export interface FleetInterval {
  key: WatchKey;
  totalCount: number | null;
  rentedMin: number | null;
  rentedMax: number | null;
  rentalPercentageMin: number | null;
  rentalPercentageMax: number | null;
  firstSeen: number;
  lastSeen: number;
  polls: number;
}

/** A key's fleet intervals as JSON gives them (`history --json`, /api/history): the key once, times as ISO strings. */
export interface FleetHistoryJson {
  key: WatchKey;
  /** The key as people read it (filters included). */
  label: string;
  intervals: (Omit<FleetInterval, 'key' | 'firstSeen' | 'lastSeen'> & { firstSeen: string; lastSeen: string })[];
}

/** Fleet intervals as JSON, grouped per key, each key's intervals by time. */
export function fleetToJson(intervals: readonly FleetInterval[]): FleetHistoryJson[] {
  const byKey = new Map<string, FleetHistoryJson>();
  for (const { key, firstSeen, lastSeen, ...figures } of intervals) {
    const group = byKey.get(keyId(key)) ?? { key, label: keyLabel(key), intervals: [] };
    byKey.set(keyId(key), group);
    group.intervals.push({ ...figures, firstSeen: new Date(firstSeen).toISOString(), lastSeen: new Date(lastSeen).toISOString() });
  }
  return [...byKey.values()];
}

/** An open interval: where it starts, and the ranges it holds so far (percentages in ten-thousandths). */
interface OpenFleet {
  firstSeen: number;
  total: number | null;
  rented: Range | null;
  pct: Range | null;
}

type Range = { lo: number; hi: number };

/** How far, as a share, a figure may wander within one interval: 5%. */
const BAND = 0.05;

const widen = (range: Range | null, value: number | null): Range | null =>
  value === null ? null : range === null ? { lo: value, hi: value } : { lo: Math.min(range.lo, value), hi: Math.max(range.hi, value) };

/**
 * The open interval with this poll's figures taken in, or undefined when they open a new one: the
 * fleet's size changed, a figure appeared or went missing, or a range grew wider than its band.
 * rentedCount's band is 5% of the fleet (at least one GPU); rentalPercentage, whose scale RunPod
 * does not document, has a band of 5% of its own value, and is judged only when there is no
 * rentedCount (otherwise it follows it).
 */
function continueFleet(open: OpenFleet, fleet: FleetFigures): OpenFleet | undefined {
  const pct = priceToE4(fleet.rentalPercentage);
  if (open.total !== fleet.totalCount || (open.rented === null) !== (fleet.rentedCount === null) || (open.pct === null) !== (pct === null)) return undefined;
  const rented = widen(open.rented, fleet.rentedCount);
  const wider = widen(open.pct, pct);
  if (rented && rented.hi - rented.lo > Math.max(1, Math.floor((fleet.totalCount ?? rented.hi) * BAND))) return undefined;
  if (!rented && wider && wider.hi - wider.lo > wider.hi * BAND) return undefined;
  return { ...open, rented, pct: wider };
}

type Row = [firstSeen: number, lastSeen: number, polls: number, total: number | null, rentedLo: number | null, rentedHi: number | null, pctLo: number | null, pctHi: number | null];

/**
 * The fleet side of the market history: one row per key and stretch of a steady fleet, kept by the
 * same rules as the main intervals (a run continues only from the poll just before in this process;
 * a failed poll, a key missing from a poll or without figures, or a restart starts a new row).
 * rentedCount moves nearly every poll, so a row keeps the range it moved in rather than each value:
 * a busy market costs a row update per poll, and a new row only when the fleet really changes.
 * MarketHistory drives it inside its poll transaction: `record` per offer, then `commit` or `forget`.
 */
export class FleetHistory extends OpenRuns<number, OpenFleet> {
  private readonly sql: ReturnType<typeof statements> | undefined;

  constructor(db: Db) {
    super();
    this.sql = hasTable(db, 'fleet_intervals') ? statements(db) : undefined;
  }

  /** Writes one offer's fleet figures for a poll at `at` (inside the caller's transaction). */
  record(keyRow: number, offer: GpuOffer, at: number): void {
    const { sql } = this;
    if (!sql || !offer.fleet || this.carried(keyRow)) return;
    const previous = this.previous(keyRow);
    const continued = previous && continueFleet(previous, offer.fleet);
    if (continued) {
      sql.extend.run({ at, key: keyRow, first: continued.firstSeen, ...columns(continued) });
      this.carry(keyRow, continued);
      return;
    }
    const pct = priceToE4(offer.fleet.rentalPercentage);
    const started: OpenFleet = { firstSeen: at, total: offer.fleet.totalCount, rented: widen(null, offer.fleet.rentedCount), pct: widen(null, pct) };
    // As for the main intervals: a clock set back across a restart moves the start a millisecond on.
    while (sql.insert.run({ key: keyRow, first: started.firstSeen, at, ...columns(started) }).changes === 0) started.firstSeen++;
    this.carry(keyRow, started);
  }

  /** A key's fleet intervals overlapping [since, until], by time. */
  intervals(keyRow: number, key: WatchKey, since: number, until: number): FleetInterval[] {
    if (!this.sql) return [];
    return this.sql.ofKey.all({ key: keyRow, since, until }).map(([firstSeen, lastSeen, polls, total, rentedLo, rentedHi, pctLo, pctHi]) => ({
      key,
      totalCount: total,
      rentedMin: rentedLo,
      rentedMax: rentedHi,
      rentalPercentageMin: priceFromE4(pctLo),
      rentalPercentageMax: priceFromE4(pctHi),
      firstSeen,
      lastSeen,
      polls,
    }));
  }

  /** Deletes up to `limit` of a key's fleet intervals that ended before `cutoff`; returns how many. */
  prune(keyRow: number, cutoff: number, limit: number): number {
    return this.sql ? this.sql.prune.run({ key: keyRow, cutoff, limit }).changes : 0;
  }
}

function columns(open: OpenFleet): Record<string, number | null> {
  return { total: open.total, rlo: open.rented?.lo ?? null, rhi: open.rented?.hi ?? null, plo: open.pct?.lo ?? null, phi: open.pct?.hi ?? null };
}

function statements(db: Db) {
  return {
    insert: db.prepare(
      `INSERT OR IGNORE INTO fleet_intervals (key_id, first_seen, last_seen, polls, total, rented_lo, rented_hi, pct_lo_e4, pct_hi_e4)
       VALUES ($key, $first, max($first, $at), 1, $total, $rlo, $rhi, $plo, $phi)`,
    ),
    extend: db.prepare(
      `UPDATE fleet_intervals SET last_seen = $at, polls = polls + 1, total = $total, rented_lo = $rlo, rented_hi = $rhi, pct_lo_e4 = $plo, pct_hi_e4 = $phi
       WHERE key_id = $key AND first_seen = $first`,
    ),
    ofKey: db
      .prepare<{ key: number; since: number; until: number }, Row>(
        `SELECT first_seen, last_seen, polls, total, rented_lo, rented_hi, pct_lo_e4, pct_hi_e4 FROM fleet_intervals
         WHERE key_id = $key AND last_seen >= $since AND first_seen <= $until ORDER BY first_seen`,
      )
      .raw(true),
    prune: db.prepare(
      `DELETE FROM fleet_intervals WHERE key_id = $key AND first_seen IN
         (SELECT first_seen FROM fleet_intervals WHERE key_id = $key AND last_seen < $cutoff LIMIT $limit)`,
    ),
  };
}
