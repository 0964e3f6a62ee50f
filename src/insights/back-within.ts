import type { Clock } from '../lib/clock.js';
import { keyId, type WatchKey } from '../runpod/types.js';
import type { HistoryRepository } from '../store/repositories.js';
import { failedStretches } from './document.js';
import type { DeployableFloor } from './floors.js';
import { keyFigures } from './figures.js';
import { MIN_SAMPLE } from './report.js';
import { nearestRank } from './percentile.js';
import { ZoneCalendar } from './zone.js';

const DAY = 86_400_000;
/** The window the sentence speaks of. */
const SENTENCE_WINDOW = 30 * DAY;
/** A key's sentence is computed again at most this often: events come at most once a cycle, history changes slowly. */
export const SENTENCE_REFRESH_MS = 5 * 60_000;

/** `40 min`, `2h 5m`: an outage length as the sentence says it. */
function outageLength(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
}

/**
 * The one sentence events carry of a key's history (`usually back within 40 min: median of 23
 * outages over 30 days`), or undefined when fewer than MIN_SAMPLE whole outages were recorded in
 * the last 30 days. Computed at most every SENTENCE_REFRESH_MS per key, on the injected clock,
 * so a cycle's events cost a map lookup.
 */
export class BackWithinSentences {
  private readonly cache = new Map<string, { at: number; sentence: string | undefined }>();
  private readonly zone = new ZoneCalendar('UTC');

  constructor(
    private readonly deps: {
      history: Pick<HistoryRepository, 'intervalsOfKey' | 'pollRuns'>;
      floorOf: (key: WatchKey) => DeployableFloor;
      clock: Clock;
    },
  ) {}

  /** The sentence for `key` now, from the cache when it is fresh. */
  sentence(key: WatchKey): string | undefined {
    const now = this.deps.clock.now();
    const id = keyId(key);
    const cached = this.cache.get(id);
    if (cached && now - cached.at < SENTENCE_REFRESH_MS) return cached.sentence;
    const sentence = this.compute(key, now);
    this.cache.set(id, { at: now, sentence });
    return sentence;
  }

  private compute(key: WatchKey, now: number): string | undefined {
    const since = now - SENTENCE_WINDOW;
    const intervals = this.deps.history.intervalsOfKey(key, since, now);
    const figures = keyFigures(intervals, failedStretches(this.deps.history, since), { since, now, floor: this.deps.floorOf(key).floor, zone: this.zone });
    const outages = figures.outages.complete;
    const median = outages.length >= MIN_SAMPLE ? nearestRank(outages, 0.5) : null;
    if (median === null) return undefined;
    const first = intervals[0];
    const days = Math.max(1, Math.round((now - Math.max(since, first?.firstSeen ?? since)) / DAY));
    return `usually back within ${outageLength(median)}: median of ${outages.length} outages over ${days} day${days === 1 ? '' : 's'}`;
  }
}
