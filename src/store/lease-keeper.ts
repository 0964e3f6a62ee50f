import type { Clock } from '../lib/clock.js';
import { humanDuration } from '../lib/duration.js';
import { isoTime } from '../lib/format.js';
import type { Logger } from '../lib/logger.js';
import { DatabaseError, isBusy, LeaseHeldError } from './errors.js';
import { describeHolder, takeoverReason } from './lease.js';
import type { Acquired, LeaseHolder } from './repositories.js';
import type { Store } from './store.js';

/**
 * How long the lease lasts unrenewed: three schedule periods, at least 15 s and at most 2 min. The
 * holder renews it before every cycle and, between cycles, every third of it (so a cycle that runs
 * long never lets it lapse); only a holder that is stopped, suspended or cut off from its database
 * loses it. A holder on this host that dies is taken over at once, without waiting for this.
 */
export function leaseTtlMs(periodMs: number): number {
  return Math.min(120_000, Math.max(15_000, 3 * periodMs));
}

/** How often a standby looks at the lease: a quarter of a period, 100 ms to 1 s, so it takes over well within one period. */
export function standbyPollMs(periodMs: number): number {
  return Math.min(1_000, Math.max(100, Math.floor(periodMs / 4)));
}

/** The pause between two tries for a write lock another program holds. */
const LOCK_RETRY_MS = 50;
/** How long the start waits for a lock another program holds before it gives up (exit 73). */
const START_LOCK_WAIT_MS = 30_000;
/** The longest a cycle waits for the lock before it is skipped. */
const CYCLE_LOCK_WAIT_MS = 30_000;
/** How long a clean stop waits for the lock to give the lease up, before leaving it to expire. */
const RELEASE_LOCK_WAIT_MS = 5_000;

type Attempt<T> = { done: true; value: T } | { done: false };

const sameHolder = (a: LeaseHolder, b: LeaseHolder): boolean => a.host === b.host && a.pid === b.pid && a.acquiredAt === b.acquiredAt;

/**
 * Keeps the database's lease for a daemon: takes it at start (or, as a standby, waits for it),
 * renews it before every cycle and on a timer in between, checks each time that the database file
 * is still the one opened, and gives it up at a clean stop. A wait for a lock another program
 * holds happens here, between short tries, so the event loop (and /healthz) never waits on it.
 * Once the lease is taken over or the file is gone, `lost` settles with the error to exit on and
 * every later cycle is refused.
 */
export class LeaseKeeper {
  readonly ttlMs: number;
  /** Settles (never rejects) with the reason to stop once this daemon may no longer act. */
  readonly lost: Promise<LeaseHeldError | DatabaseError>;
  private stopReason: LeaseHeldError | DatabaseError | undefined;
  private settleLost: (reason: LeaseHeldError | DatabaseError) => void = () => undefined;
  private readonly keepAlive = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<boolean> | undefined;
  private holding = false;
  private readonly log: Logger;

  constructor(private readonly deps: { store: Store; clock: Clock; logger: Logger; periodMs: number }) {
    this.ttlMs = leaseTtlMs(deps.periodMs);
    this.log = deps.logger.child({ component: 'lease' });
    this.lost = new Promise((resolve) => {
      this.settleLost = resolve;
    });
  }

  /** Why this daemon must stop acting, once it must. */
  get stopped(): LeaseHeldError | DatabaseError | undefined {
    return this.stopReason;
  }

  /**
   * Takes the lease. Held by another: throws LeaseHeldError naming the holder, or with `standby`
   * waits, looking at the lease without taking the write lock, until its holder stops or dies.
   * Resolves false when `signal` aborts first.
   */
  async take(options: { standby: boolean; signal: AbortSignal }): Promise<boolean> {
    const { store, clock } = this.deps;
    const first = await this.whenUnlocked(() => store.lease.tryAcquire(clock.now(), this.ttlMs), options.signal, START_LOCK_WAIT_MS, 'taking the lease');
    if (!first.done) {
      if (options.signal.aborted) return false;
      throw new DatabaseError(store.path, `another program has held a lock on it for ${humanDuration(START_LOCK_WAIT_MS)}`);
    }
    if (first.value.acquired) return this.took(first.value);
    if (!options.standby) throw new LeaseHeldError(`${describeHolder(first.value.holder)} (${store.path}); \`run --standby\` waits for it to stop`);
    return this.standBy(first.value.holder, options.signal);
  }

  /**
   * The gate before each cycle, before anything is read or sent: the file must still be the one
   * opened and the lease still this daemon's (renewed here). A lock held by another program is
   * waited for between short tries; still held after a while, the cycle is skipped (false). Lost
   * lease or file: false, now and for every later cycle, and `lost` settles.
   */
  pass(signal: AbortSignal): Promise<boolean> {
    return this.renewOnce(signal, Math.min(this.deps.periodMs, CYCLE_LOCK_WAIT_MS), 'before the cycle');
  }

  /** Renews the lease every third of its lifetime between cycles, until `release`. */
  startKeepAlive(): void {
    const every = Math.floor(this.ttlMs / 3);
    this.timer = setInterval(() => {
      if (this.renewing) return;
      this.renewOnce(this.keepAlive.signal, every, 'between cycles').catch((error: unknown) => {
        this.log.error({ err: error }, 'could not renew the lease between cycles; the next cycle tries again');
      });
    }, every);
    this.timer.unref();
  }

  /** Stops renewing and gives the lease up, if this daemon took it and still holds it; a failure is logged, the lease then expires by itself. */
  async release(): Promise<void> {
    this.keepAlive.abort(new Error('releasing the lease'));
    clearInterval(this.timer);
    await this.renewing?.catch(() => undefined);
    if (this.stopReason || !this.holding) return;
    const expires = `it expires within ${humanDuration(this.ttlMs)}`;
    try {
      const released = await this.whenUnlocked(() => this.deps.store.lease.release(), new AbortController().signal, RELEASE_LOCK_WAIT_MS, 'giving the lease up');
      if (!released.done) this.log.warn(`could not give the lease up; ${expires}`);
    } catch (error) {
      this.log.warn({ detail: (error as Error).message }, `could not give the lease up; ${expires}`);
    }
  }

  private took(acquired: Extract<Acquired, { acquired: true }>): true {
    this.holding = true;
    const previous = acquired.tookOver;
    if (previous) {
      const why = previous.reason === 'gone' ? 'its process is gone' : `it was not renewed and expired at ${isoTime(previous.holder.expiresAt)}`;
      this.log.warn({ holder: previous.holder }, `took the database lease over from pid ${previous.holder.pid} on ${previous.holder.host}: ${why}`);
    } else {
      this.log.debug({ ttlMs: this.ttlMs }, 'took the database lease');
    }
    return true;
  }

  private async standBy(holder: LeaseHolder, signal: AbortSignal): Promise<boolean> {
    const { store, clock } = this.deps;
    const tell = (h: LeaseHolder): void => this.log.info({ holder: h }, `standby: ${describeHolder(h)}; waiting to take over when it stops`);
    let seen = holder;
    tell(seen);
    for (;;) {
      try {
        await clock.sleep(standbyPollMs(this.deps.periodMs), signal);
      } catch {
        return false;
      }
      const change = store.fileChange();
      if (change) throw new DatabaseError(store.path, `${change} while this gpu-watcher waited for it`);
      const current = store.lease.holder();
      if (current && !takeoverReason(current, store.lease.identity, clock.now())) {
        if (!sameHolder(current, seen)) tell((seen = current));
        continue;
      }
      let attempt: Acquired;
      try {
        attempt = store.lease.tryAcquire(clock.now(), this.ttlMs);
      } catch (error) {
        if (isBusy(error)) continue;
        throw error;
      }
      if (attempt.acquired) return this.took(attempt);
      if (!sameHolder(attempt.holder, seen)) tell((seen = attempt.holder));
    }
  }

  /**
   * One renewal at a time: a cycle that starts while the timer's renewal waits for a lock shares
   * its outcome, rather than running a second wait beside it (two loops of short synchronous
   * tries would leave the event loop less room between them).
   */
  private renewOnce(signal: AbortSignal, maxWaitMs: number, when: string): Promise<boolean> {
    this.renewing ??= this.renew(signal, maxWaitMs, when).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renew(signal: AbortSignal, maxWaitMs: number, when: string): Promise<boolean> {
    if (this.stopReason) return false;
    const { store, clock } = this.deps;
    const change = store.fileChange();
    if (change) return this.stop(new DatabaseError(store.path, `${change} while gpu-watcher ran on it; it stopped acting`));
    const attempt = await this.whenUnlocked(() => store.lease.renew(clock.now(), this.ttlMs), signal, maxWaitMs, when);
    if (this.stopReason || !attempt.done) return false;
    if (!attempt.value.held) return this.stop(new LeaseHeldError(`this gpu-watcher lost the database's lease: ${describeHolder(attempt.value.holder)}; it stopped acting`));
    return true;
  }

  private stop(reason: LeaseHeldError | DatabaseError): false {
    this.stopReason = reason;
    this.keepAlive.abort(reason);
    clearInterval(this.timer);
    this.settleLost(reason);
    return false;
  }

  /**
   * Runs `attempt` (one short write transaction) until no other program's lock is in its way:
   * between tries the event loop runs. Gives up after `maxWaitMs` or when `signal` aborts.
   */
  private async whenUnlocked<T>(attempt: () => T, signal: AbortSignal, maxWaitMs: number, when: string): Promise<Attempt<T>> {
    const { clock } = this.deps;
    const started = clock.now();
    for (let tries = 1; ; tries++) {
      try {
        const value = attempt();
        if (tries > 1) this.log.info({ waitedMs: clock.now() - started }, `the database lock was freed; went on ${when}`);
        return { done: true, value };
      } catch (error) {
        if (!isBusy(error)) throw error;
      }
      if (tries === 1) this.log.warn(`another program holds a lock on the database; waiting for it ${when}`);
      if (clock.now() - started >= maxWaitMs) {
        this.log.warn({ waitedMs: clock.now() - started }, `the database stayed locked for ${humanDuration(clock.now() - started)}; gave up waiting ${when}`);
        return { done: false };
      }
      try {
        await clock.sleep(LOCK_RETRY_MS, signal);
      } catch {
        return { done: false };
      }
    }
  }
}
