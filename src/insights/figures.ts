import { STOCK_LEVELS, stockRank, type StockLevel } from '../runpod/types.js';
import type { HistoryInterval } from '../store/history.js';
import type { ZoneCalendar } from './zone.js';

/** A stretch of failed polls: no key was seen over it (a `poll_runs` row with outcome failed). */
export interface FailedStretch {
  firstAt: number;
  lastAt: number;
}

/** What to measure one key's history against. */
export interface FigureQuery {
  /** The window: only time in [since, now] counts. */
  since: number;
  now: number;
  /** The lowest stock at which the key counts as deployable. */
  floor: StockLevel;
  zone: ZoneCalendar;
}

/** The runs (outages or deployable stretches) of one kind: lengths of those seen whole, sorted, and how many were cut. */
export interface RunLengths {
  /** Lengths in ms of the runs whose start and end were both recorded, shortest first. */
  complete: number[];
  /** Runs cut by a gap, by the window's start, or still going at its end: their length is unknown. */
  censored: number;
}

/** The raw figures of one key over a window, from one pass over its intervals. */
export interface KeyFigures {
  /** Time recorded in the window (gaps excluded), and time lost to gaps between recorded polls. */
  observedMs: number;
  gapMs: number;
  /** Recorded time at each stock level, in STOCK_LEVELS order. */
  stockMs: number[];
  deployableMs: number;
  /** Per hour-of-week bucket (Monday 00:00 local = 0), recorded and deployable time. */
  gridObservedMs: Float64Array;
  gridDeployableMs: Float64Array;
  outages: RunLengths;
  stretches: RunLengths;
  /** The state at the last poll, when that poll is recent; `since` is when its run began (`sinceKnown`: after a recorded change, not a gap). */
  current: { deployable: boolean; since: number; sinceKnown: boolean } | null;
  /** Recorded time at each on-demand price, over the whole window and over each half of it. */
  priceMs: Map<number, number>;
  priceMsHalves: [Map<number, number>, Map<number, number>];
}

/** How many poll periods may pass between two intervals before the time between them is a gap. */
const GAP_PERIODS = 3;

/**
 * The typical time between two polls of a key: the median over its intervals of their average
 * poll spacing; Infinity when no interval has two polls (then only failed polls mark gaps).
 */
function pollPeriod(intervals: readonly HistoryInterval[]): number {
  const spacings: number[] = [];
  for (const i of intervals) if (i.polls >= 2) spacings.push((i.lastSeen - i.firstSeen) / (i.polls - 1));
  if (spacings.length === 0) return Infinity;
  spacings.sort((a, b) => a - b);
  return spacings[Math.floor(spacings.length / 2)] ?? Infinity;
}

const addTo = (map: Map<number, number>, key: number, ms: number): void => void map.set(key, (map.get(key) ?? 0) + ms);

/**
 * One key's figures from its intervals (oldest first) and the failed polls (oldest first), in one
 * pass. An interval's state is taken to hold from its first poll until the next interval's first
 * poll (the change happened somewhere between two polls; the earlier state is kept until the
 * later is seen), unless a gap lies between them: a failed poll, or more than three poll periods
 * without a poll (a restart). A gap counts as nothing: neither deployable nor an outage. A run of
 * deployable (or not deployable) time that a gap cuts is censored: its length is unknown, so it is
 * left out of the lengths and the back-within chances, though its recorded time still counts in
 * the shares and the grid.
 */
export function keyFigures(intervals: readonly HistoryInterval[], failed: readonly FailedStretch[], query: FigureQuery): KeyFigures {
  const { since, now, zone } = query;
  const floor = stockRank(query.floor);
  const maxStep = GAP_PERIODS * pollPeriod(intervals);
  const figures: KeyFigures = {
    observedMs: 0,
    gapMs: 0,
    stockMs: STOCK_LEVELS.map(() => 0),
    deployableMs: 0,
    gridObservedMs: new Float64Array(168),
    gridDeployableMs: new Float64Array(168),
    outages: { complete: [], censored: 0 },
    stretches: { complete: [], censored: 0 },
    current: null,
    priceMs: new Map(),
    priceMsHalves: [new Map(), new Map()],
  };
  let failedAt = 0;
  const gapBetween = (from: number, to: number): boolean => {
    if (to - from > maxStep) return true;
    while (failedAt < failed.length && (failed[failedAt] as FailedStretch).lastAt <= from) failedAt++;
    return failedAt < failed.length && (failed[failedAt] as FailedStretch).firstAt < to;
  };

  let run: { deployable: boolean; start: number; end: number; censoredStart: boolean } | null = null;
  const closeRun = (censoredEnd: boolean): void => {
    if (!run) return;
    const lengths = run.deployable ? figures.stretches : figures.outages;
    if (run.censoredStart || censoredEnd) lengths.censored++;
    else lengths.complete.push(run.end - run.start);
  };
  // The price trend compares the two halves of the recorded span (not of the window, which may reach back before the history).
  const first = intervals[0];
  const last = intervals[intervals.length - 1];
  const mid = first && last ? (Math.max(first.firstSeen, since) + Math.min(last.lastSeen, now)) / 2 : 0;
  let afterGap = true;
  for (let i = 0; i < intervals.length; i++) {
    const interval = intervals[i] as HistoryInterval;
    const next = intervals[i + 1];
    const gapAfter = next === undefined || gapBetween(interval.lastSeen, next.firstSeen);
    const end = gapAfter ? interval.lastSeen : next.firstSeen;
    const from = Math.max(interval.firstSeen, since);
    const to = Math.min(end, now);
    if (next && gapAfter) figures.gapMs += Math.max(0, Math.min(next.firstSeen, now) - Math.max(interval.lastSeen, since));
    if (to < from || (to === from && end <= since)) {
      afterGap ||= gapAfter;
      continue;
    }
    const deployable = stockRank(interval.stock) >= floor;
    if (run === null || afterGap) {
      closeRun(true);
      run = { deployable, start: from, end: to, censoredStart: true };
    } else if (run.deployable !== deployable) {
      closeRun(false);
      run = { deployable, start: from, end: to, censoredStart: false };
    }
    run.end = to;
    afterGap = gapAfter;

    const ms = to - from;
    if (ms === 0) continue;
    figures.observedMs += ms;
    figures.stockMs[stockRank(interval.stock)] = (figures.stockMs[stockRank(interval.stock)] ?? 0) + ms;
    if (deployable) figures.deployableMs += ms;
    zone.split(from, to, (bucket, a, b) => {
      figures.gridObservedMs[bucket] = (figures.gridObservedMs[bucket] ?? 0) + b - a;
      if (deployable) figures.gridDeployableMs[bucket] = (figures.gridDeployableMs[bucket] ?? 0) + b - a;
    });
    if (interval.onDemandPrice !== null) {
      addTo(figures.priceMs, interval.onDemandPrice, ms);
      if (from < mid) addTo(figures.priceMsHalves[0], interval.onDemandPrice, Math.min(to, mid) - from);
      if (to > mid) addTo(figures.priceMsHalves[1], interval.onDemandPrice, to - Math.max(from, mid));
    }
  }
  if (run && last && now - last.lastSeen <= maxStep && last.lastSeen >= since) {
    figures.current = { deployable: run.deployable, since: run.start, sinceKnown: !run.censoredStart };
  }
  closeRun(true);
  figures.outages.complete.sort((a, b) => a - b);
  figures.stretches.complete.sort((a, b) => a - b);
  return figures;
}
