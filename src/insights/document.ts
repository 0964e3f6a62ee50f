import { isoTime } from '../lib/format.js';
import type { WatchKey } from '../runpod/types.js';
import type { HistoryRepository } from '../store/repositories.js';
import type { DeployableFloor } from './floors.js';
import { keyFigures, type FailedStretch } from './figures.js';
import { keyInsight, type KeyInsight } from './report.js';
import { ZoneCalendar } from './zone.js';

/** What the insights are asked for: a window, a time zone (already checked), maybe one GPU type. */
export interface InsightsQuery {
  since: number;
  now: number;
  timeZone: string;
  gpuTypeId?: string | undefined;
}

/** The insights document: `insights --json` and /api/insights. */
export interface InsightsDocument {
  generatedAt: string | null;
  since: string | null;
  timeZone: string;
  /** How the figures are computed, in words, so a reader of the JSON need not look it up. */
  method: { percentiles: string; gaps: string; backWithin: string };
  keys: KeyInsight[];
}

const METHOD: InsightsDocument['method'] = {
  percentiles: 'nearest-rank: the smallest recorded value with at least p of the sample at or below it; prices weighted by the time each was seen',
  gaps: 'failed polls and restarts are gaps: neither deployable nor an outage; an outage or stretch a gap cuts is censored and left out of lengths and chances',
  backWithin: 'among whole outages longer than the time out now, the share that ended within it plus the horizon',
};

/** The failed poll runs since `since`, as the stretches that cut history. */
export function failedStretches(history: Pick<HistoryRepository, 'pollRuns'>, since: number): FailedStretch[] {
  return history.pollRuns(since).filter((r) => r.outcome === 'failed');
}

/**
 * The insights for every recorded key (or one GPU type's), one key at a time: each key's
 * intervals are read and measured in one pass, then dropped, so memory holds one key's history.
 */
export function buildInsights(history: Pick<HistoryRepository, 'keys' | 'intervalsOfKey' | 'pollRuns'>, floorOf: (key: WatchKey) => DeployableFloor, query: InsightsQuery): InsightsDocument {
  const zone = new ZoneCalendar(query.timeZone);
  const failed = failedStretches(history, query.since);
  const keys = history.keys(query.gpuTypeId).map((key) => {
    const floor = floorOf(key);
    const figures = keyFigures(history.intervalsOfKey(key, query.since, query.now), failed, { since: query.since, now: query.now, floor: floor.floor, zone });
    return keyInsight(key, floor, figures, query.now);
  });
  return { generatedAt: isoTime(query.now), since: isoTime(query.since), timeZone: query.timeZone, method: METHOD, keys };
}
