import type { Clock } from '../lib/clock.js';
import { formatDuration } from '../lib/duration.js';
import type { Logger } from '../lib/logger.js';
import type { PollMode } from './poll-mode.js';

/** Hungry and idle intervals vary by up to this share either way, so daemons drift apart. */
const INTERVAL_JITTER = 0.1;
/** The per-process offset of base ticks is below this share of the schedule's period... */
const OFFSET_SHARE = 0.25;
/** ...and below this, so a slow schedule is not put off by minutes. */
const MAX_OFFSET_MS = 10_000;

/** The bound of a process's base-tick offset: below a quarter of the schedule's period, and below 10 s. */
function maxOffsetMs(basePeriodMs: number): number {
  return Math.min(MAX_OFFSET_MS, basePeriodMs * OFFSET_SHARE);
}

/** The longest gap between two polls when nothing fails: the schedule's period and the offset, or an idle interval at its most. */
export function longestGapMs(basePeriodMs: number, idleMs: number | undefined): number {
  return Math.max(basePeriodMs + maxOffsetMs(basePeriodMs), Math.ceil((idleMs ?? 0) * (1 + INTERVAL_JITTER)));
}

/** What the pacer needs. */
export interface PacerDeps {
  clock: Clock;
  logger: Logger;
  /** Runs one cycle (the watcher's `tick`); its result says the mode it asks for next. */
  tick: () => Promise<{ wants: PollMode } | undefined>;
  /** The base schedule's period, for the offset. */
  basePeriodMs: number;
  /** `poll.hungry` and `poll.idle`; unset, that mode is the base schedule. */
  hungryMs?: number | undefined;
  idleMs?: number | undefined;
  /** Uniform in [0, 1); `Math.random` by default. */
  random?: () => number;
  /** Told when the mode changes (status, metrics). */
  onMode?: (mode: PollMode, at: number) => void;
}

/** Where the pacer's loop is. */
type Phase = 'cycle' | 'awaiting base tick' | 'offset' | 'interval';

/**
 * Decides when the next cycle runs. In base mode, on the ticks of `poll.schedule` (node-cron calls
 * `baseTick`), each put off by this process's random offset, so daemons on the same schedule do not
 * all reach RunPod on the same second. In hungry and idle mode, on its own timer: `poll.hungry` or
 * `poll.idle` after the last cycle started, each interval varied by up to 10% either way. Every
 * cycle's result picks the next mode. Cycles never overlap; all time is the injected clock's.
 */
export class Pacer {
  /** The base ticks' offset for this process: below a quarter of the period, and below 10 s. */
  readonly offsetMs: number;
  private current: PollMode = 'base';
  private phase: Phase = 'cycle';
  private wakeOnBaseTick: (() => void) | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: PacerDeps) {
    this.random = deps.random ?? Math.random;
    this.offsetMs = Math.floor(this.random() * maxOffsetMs(deps.basePeriodMs));
    this.log = deps.logger.child({ component: 'pacer' });
  }

  /** The mode polling is in. */
  get mode(): PollMode {
    return this.current;
  }

  /** Runs a cycle now, then paces the next ones until `stop`. */
  start(): void {
    if (this.loop) return;
    this.deps.onMode?.(this.current, this.deps.clock.now());
    this.loop = this.run(this.controller.signal);
  }

  /**
   * A tick of the base schedule. In base mode it starts the next cycle (after the offset); a tick
   * that finds a cycle running goes to the watcher, which skips and counts it. In hungry and idle
   * mode the pacer's own timer drives, and base ticks are ignored.
   */
  baseTick(): void {
    if (this.current !== 'base') return;
    if (this.phase === 'awaiting base tick') this.wakeOnBaseTick?.();
    else if (this.phase === 'cycle') void this.deps.tick();
  }

  /** Stops pacing; resolves once the cycle in flight has settled (the watcher's `stop` aborts it). */
  async stop(): Promise<void> {
    this.controller.abort(new Error('pacer stopping'));
    this.wakeOnBaseTick?.();
    await this.loop;
  }

  /** The interval a hungry or idle cycle waits from its start: the setting, varied by up to 10% either way. */
  jittered(ms: number): number {
    return Math.round(ms * (1 - INTERVAL_JITTER + 2 * INTERVAL_JITTER * this.random()));
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    try {
      while (!signal.aborted) {
        const started = clock.monotonic();
        this.phase = 'cycle';
        const result = await this.deps.tick();
        if (signal.aborted) return;
        this.setMode(result?.wants ?? 'base');
        const interval = this.current === 'hungry' ? this.deps.hungryMs : this.current === 'idle' ? this.deps.idleMs : undefined;
        if (interval === undefined) {
          this.phase = 'awaiting base tick';
          await new Promise<void>((resolve) => {
            this.wakeOnBaseTick = resolve;
            if (signal.aborted) resolve();
          });
          this.wakeOnBaseTick = undefined;
          this.phase = 'offset';
          await clock.sleep(this.offsetMs, signal);
        } else {
          this.phase = 'interval';
          await clock.sleep(Math.max(0, started + this.jittered(interval) - clock.monotonic()), signal);
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /** Takes the mode a cycle asked for, or base when that mode has no interval set. */
  private setMode(wanted: PollMode): void {
    const interval = wanted === 'hungry' ? this.deps.hungryMs : wanted === 'idle' ? this.deps.idleMs : undefined;
    const mode = interval === undefined ? 'base' : wanted;
    if (mode === this.current) return;
    this.current = mode;
    this.log.info({ mode, intervalMs: interval }, `polling mode: ${mode}${interval === undefined ? ' (the schedule)' : ` (every ${formatDuration(interval)}, +-${INTERVAL_JITTER * 100}%)`}`);
    this.deps.onMode?.(mode, this.deps.clock.now());
  }
}
