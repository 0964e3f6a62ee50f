import type { Logger } from '../lib/logger.js';

/** How long a spot retirement stands before the spot field is tried again. */
export const SPOT_RECHECK_MS = 24 * 3_600_000;

/** A retirement as kept across restarts: since when, what RunPod said, when it was last confirmed. */
export interface SpotRetirement {
  detail: string;
  at: number;
  /** Absent in records from before the daily re-check: `at` stands in. */
  checkedAt?: number;
}

/** Where the retirement is kept (the daemon's database); null once spot is back. */
export interface SpotPersistence {
  load(): SpotRetirement | null | undefined;
  save(retirement: SpotRetirement | null, now: number): void;
}

/**
 * Whether RunPod still serves spot (minimum bids, spot deploys and bid resumes): the one place this
 * is decided and kept. The client retires spot only once it has confirmed it (an error naming a
 * spot field, and the same request without it going through), tries the spot field again once a
 * day, and restores spot when that works. Listeners (the rules engine) hear of each retirement.
 */
export class SpotSupport {
  private retirement: SpotRetirement | null;
  private readonly listeners: ((detail: string, at: number) => void)[] = [];

  constructor(
    private readonly persistence?: SpotPersistence,
    private readonly logger?: Logger,
  ) {
    this.retirement = persistence?.load() ?? null;
  }

  /** False while spot is retired. */
  get available(): boolean {
    return this.retirement === null;
  }

  /** Whether a retirement is old enough to try the spot field again. */
  recheckDue(now: number): boolean {
    return this.retirement !== null && now - (this.retirement.checkedAt ?? this.retirement.at) >= SPOT_RECHECK_MS;
  }

  /** Records a confirmed retirement; when spot was already retired, only that it still is. */
  retire(detail: string, now: number): void {
    if (this.retirement) {
      this.retirement = { ...this.retirement, checkedAt: now };
      this.persistence?.save(this.retirement, now);
      this.logger?.info({ detail }, 'RunPod still does not serve spot; checking again in a day');
      return;
    }
    this.retirement = { detail, at: now, checkedAt: now };
    this.persistence?.save(this.retirement, now);
    this.logger?.warn({ detail }, 'RunPod no longer serves spot: watching and deploying on-demand only; checking again in a day');
    for (const listener of this.listeners) listener(detail, now);
  }

  /** Spot works again: rules may use it. */
  restore(now: number): void {
    if (!this.retirement) return;
    const retiredAt = this.retirement.at;
    this.retirement = null;
    this.persistence?.save(null, now);
    this.logger?.warn({ retiredAt: new Date(retiredAt).toISOString() }, 'RunPod serves spot again: rules use spot again');
  }

  /** Calls `listener` on every new retirement (not on re-confirmations). */
  onRetired(listener: (detail: string, at: number) => void): void {
    this.listeners.push(listener);
  }
}
