import { humanDuration } from '../lib/duration.js';
import { keyId, keyLabel, STOCK_LEVELS, type StockLevel, type WatchKey } from '../runpod/types.js';
import type { DeployableFloor } from './floors.js';
import type { KeyFigures, RunLengths } from './figures.js';
import { nearestRank, weightedNearestRank } from './percentile.js';
import { WEEKDAYS } from './zone.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Fewer whole outages (or stretches) than this, and their lengths and chances are not given: too few to judge. */
export const MIN_SAMPLE = 5;
/** Less recorded time than this, and the grid is flagged: not every hour of the week was seen yet. */
const FULL_WEEK = 7 * DAY;

/** The horizons of the back-within chances. */
export const BACK_WITHIN = { '15m': 15 * 60_000, '1h': HOUR, '6h': 6 * HOUR } as const;

/** p50 and p90 of a kind of run, with how many were seen whole and how many were cut. */
export interface LengthSummary {
  count: number;
  censored: number;
  p50Ms: number | null;
  p90Ms: number | null;
}

/** What the history says of one key: the document `insights --json` and /api/insights give per key. */
export interface KeyInsight {
  key: WatchKey;
  keyId: string;
  /** The key as people read it, machine filters included. */
  label: string;
  deployableAt: StockLevel;
  deployableFrom: string;
  observedMs: number;
  gapMs: number;
  /** Share of recorded time at each stock level, and deployable. */
  stockShare: Record<StockLevel, number | null>;
  deployableShare: number | null;
  /** At the last poll, when it is recent: deployable or not, and for how long. */
  now: { deployable: boolean; forMs: number; forAtLeast: boolean } | null;
  outages: LengthSummary;
  stretches: LengthSummary;
  /** Given the time out now (0 when deployable), the chance it is back within each horizon, from the whole outages at least that long. */
  backWithin: { outForMs: number; sample: number; chances: Record<keyof typeof BACK_WITHIN, number> | null };
  price: { p10: number | null; p50: number | null; p90: number | null; trend: { firstHalfP50: number | null; secondHalfP50: number | null; change: number | null } };
  /** Per local weekday (Monday first) and hour: deployable share of the recorded time (null: none recorded), and deployable hours. */
  hourOfWeek: { days: readonly string[]; share: (number | null)[][]; deployableHours: number[][] };
  /** Plain words on what the history is too short to tell. */
  notes: string[];
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function lengths(runs: RunLengths): LengthSummary {
  const enough = runs.complete.length >= MIN_SAMPLE;
  return {
    count: runs.complete.length,
    censored: runs.censored,
    p50Ms: enough ? nearestRank(runs.complete, 0.5) : null,
    p90Ms: enough ? nearestRank(runs.complete, 0.9) : null,
  };
}

/**
 * The chance that an outage already `outForMs` long ends within each horizon: among the whole
 * outages longer than `outForMs`, the share no longer than `outForMs` + the horizon. Null
 * chances when fewer than MIN_SAMPLE outages were that long.
 */
function backWithin(outages: readonly number[], outForMs: number): KeyInsight['backWithin'] {
  const longer = outForMs > 0 ? outages.filter((l) => l > outForMs) : outages;
  if (longer.length < MIN_SAMPLE) return { outForMs, sample: longer.length, chances: null };
  const within = (horizon: number): number => longer.filter((l) => l <= outForMs + horizon).length / longer.length;
  return { outForMs, sample: longer.length, chances: { '15m': within(BACK_WITHIN['15m']), '1h': within(BACK_WITHIN['1h']), '6h': within(BACK_WITHIN['6h']) } };
}

function grid(map: (bucket: number) => number | null): (number | null)[][] {
  return WEEKDAYS.map((_, day) => Array.from({ length: 24 }, (_unused, hour) => map(day * 24 + hour)));
}

/** One key's insight from its figures, at `now`. */
export function keyInsight(key: WatchKey, floor: DeployableFloor, figures: KeyFigures, now: number): KeyInsight {
  const observed = figures.observedMs;
  const outForMs = figures.current && !figures.current.deployable ? now - figures.current.since : 0;
  const notes: string[] = [];
  if (observed === 0) notes.push('nothing recorded in this window');
  else if (observed < FULL_WEEK) notes.push(`only ${humanDuration(observed)} recorded: the hour-of-week grid has not seen every hour of the week yet`);
  if (figures.outages.complete.length < MIN_SAMPLE) {
    notes.push(`only ${figures.outages.complete.length} whole outage(s) recorded, at least ${MIN_SAMPLE} are needed: outage lengths and back-within chances are not given`);
  }
  if (figures.stretches.complete.length < MIN_SAMPLE) notes.push(`only ${figures.stretches.complete.length} whole deployable stretch(es) recorded, at least ${MIN_SAMPLE} are needed to give their lengths`);
  const back = backWithin(figures.outages.complete, outForMs);
  if (outForMs > 0 && back.chances === null && figures.outages.complete.length >= MIN_SAMPLE) {
    notes.push(`only ${back.sample} recorded outage(s) lasted longer than the ${humanDuration(outForMs)} it has been out: too few to judge when it comes back`);
  }
  const [first, second] = figures.priceMsHalves;
  const firstHalfP50 = weightedNearestRank(first, 0.5);
  const secondHalfP50 = weightedNearestRank(second, 0.5);
  return {
    key,
    keyId: keyId(key),
    label: keyLabel(key),
    deployableAt: floor.floor,
    deployableFrom: floor.from,
    observedMs: observed,
    gapMs: figures.gapMs,
    stockShare: Object.fromEntries(STOCK_LEVELS.map((level, i) => [level, share(figures.stockMs[i] ?? 0, observed)])) as Record<StockLevel, number | null>,
    deployableShare: share(figures.deployableMs, observed),
    now: figures.current && { deployable: figures.current.deployable, forMs: now - figures.current.since, forAtLeast: !figures.current.sinceKnown },
    outages: lengths(figures.outages),
    stretches: lengths(figures.stretches),
    backWithin: back,
    price: {
      p10: weightedNearestRank(figures.priceMs, 0.1),
      p50: weightedNearestRank(figures.priceMs, 0.5),
      p90: weightedNearestRank(figures.priceMs, 0.9),
      trend: { firstHalfP50, secondHalfP50, change: firstHalfP50 !== null && secondHalfP50 !== null ? Math.round((secondHalfP50 - firstHalfP50) * 10_000) / 10_000 : null },
    },
    hourOfWeek: {
      days: WEEKDAYS,
      share: grid((b) => share(figures.gridDeployableMs[b] ?? 0, figures.gridObservedMs[b] ?? 0)),
      deployableHours: grid((b) => (figures.gridDeployableMs[b] ?? 0) / HOUR) as number[][],
    },
    notes,
  };
}
