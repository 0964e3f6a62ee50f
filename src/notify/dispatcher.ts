import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { withRetry } from '../lib/with-retry.js';
import { sanitise } from '../lib/sanitise.js';
import { DeliveryError, type Notifier } from './notifier.js';
import type { DueDelivery } from '../store/outbox.js';
import type { OutboxRepository } from '../store/repositories.js';

/** Quick retries inside one attempt (1 s, then 2 s), before the delivery is put back in the outbox. */
const QUICK_RETRIES = 2;
/** Back-off between attempts kept in the outbox: 30 s, doubling, at most an hour. */
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 3_600_000;
/** An event still undelivered this long after it happened is given up (and logged): it is stale. */
export const GIVE_UP_AFTER_MS = 72 * 3_600_000;
/**
 * Failed deliveries in a row after which a receiver is taken to be down. One failure between
 * successes is that event's trouble and holds up nothing else; two in a row hold the notifier's
 * whole queue until the retry, so a dead receiver gets one attempt per back-off, not one per event.
 */
const DOWN_AFTER_FAILURES = 2;
const BATCH = 50;
const IDLE_MS = 60_000;

/** Delivery counts per notifier since start, for status and metrics. */
export type DeliveryStats = Map<string, { delivered: number; retried: number; failed: number }>;

/** When a delivery that failed for the `attempts`-th time is tried again. */
export function nextAttemptAt(now: number, attempts: number): number {
  return now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

type Outcome = 'delivered' | 'retry' | 'failed' | 'aborted';

/**
 * Delivers the outbox. Each notifier is a lane of its own, drained oldest event first, so a slow
 * or dead receiver holds up only itself: the other lanes go on, and an event that arrives meanwhile
 * goes out at once. A failure is retried quickly a couple of times, then put back with a growing
 * back-off that survives restarts; a permanent refusal (4xx other than 408/429) is recorded and
 * not retried. It runs beside the poll loop and never inside it.
 */
export class Dispatcher {
  readonly stats: DeliveryStats = new Map();
  private readonly controller = new AbortController();
  private readonly draining = new Map<string, Promise<void>>();
  /** Failed deliveries in a row, per notifier; reset by a success. */
  private readonly failuresInARow = new Map<string, number>();
  /** A lane whose drain threw (the database, not a receiver) rests this long, not in a hot loop. */
  private readonly restingUntil = new Map<string, number>();
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private woken = false;
  private readonly log: Logger;

  constructor(
    private readonly deps: { outbox: OutboxRepository; notifiers: ReadonlyMap<string, Notifier>; clock: Clock; logger: Logger },
  ) {
    this.log = deps.logger.child({ component: 'notify' });
    deps.outbox.onAppend(() => this.wake());
  }

  /** Delivers everything due now; resolves when every lane is idle again. */
  async deliverDue(): Promise<void> {
    this.startDueLanes();
    while (this.draining.size > 0) await Promise.all(this.draining.values());
  }

  /** Runs deliveries until `stop()`: whatever is due, then sleeps until the next is due or an event arrives. */
  start(): void {
    this.loop ??= (async () => {
      while (!this.controller.signal.aborted) {
        this.woken = false;
        let next: number | undefined;
        try {
          next = this.startDueLanes();
        } catch (error) {
          this.log.error({ err: error }, 'delivery round failed; trying again when the next event arrives, or within a minute');
        }
        const wait = next === undefined ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - this.deps.clock.now()));
        await this.sleep(wait);
      }
      await Promise.all(this.draining.values());
    })();
  }

  /** Cuts the current wait short: new events are delivered at once. */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Stops the loop, aborting deliveries in flight (they stay pending and go out after a restart). */
  async stop(): Promise<void> {
    this.controller.abort(new Error('dispatcher stopping'));
    this.wake();
    await this.loop;
    await Promise.all(this.draining.values());
  }

  /** Starts a drain for each idle notifier with a delivery due; returns when the next idle one falls due. */
  private startDueLanes(): number | undefined {
    const now = this.deps.clock.now();
    let next: number | undefined;
    for (const { notifier, at: dueAt } of this.deps.outbox.nextDueByNotifier()) {
      if (this.draining.has(notifier)) continue;
      const at = Math.max(dueAt, this.restingUntil.get(notifier) ?? 0);
      if (at <= now) this.startLane(notifier);
      else next = Math.min(next ?? at, at);
    }
    return next;
  }

  private startLane(name: string): void {
    const lane = this.drain(name)
      .catch((error: unknown) => {
        this.restingUntil.set(name, this.deps.clock.now() + FIRST_RETRY_MS);
        this.log.error({ err: error, notifier: name }, `delivery round failed; trying again in ${FIRST_RETRY_MS / 1000} s`);
      })
      .finally(() => {
        this.draining.delete(name);
        this.wake();
      });
    this.draining.set(name, lane);
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.woken) return;
    const cut = new AbortController();
    this.wakeSleeper = () => cut.abort();
    const onStop = (): void => cut.abort();
    this.controller.signal.addEventListener('abort', onStop, { once: true });
    await this.deps.clock.sleep(ms, cut.signal).catch(() => undefined);
    this.controller.signal.removeEventListener('abort', onStop);
    this.wakeSleeper = undefined;
  }

  /** Delivers a notifier's due deliveries, oldest first, until none is due or its receiver is down. */
  private async drain(name: string): Promise<void> {
    for (;;) {
      const batch = this.deps.outbox.due(name, this.deps.clock.now(), BATCH);
      if (batch.length === 0) return;
      for (const item of batch) {
        if (this.controller.signal.aborted) return;
        const outcome = await this.deliver(item);
        if (outcome === 'aborted') return;
        if (outcome === 'retry' && (this.failuresInARow.get(name) ?? 0) >= DOWN_AFTER_FAILURES) return;
      }
    }
  }

  private count(name: string, outcome: 'delivered' | 'retried' | 'failed'): void {
    const entry = this.stats.get(name) ?? { delivered: 0, retried: 0, failed: 0 };
    entry[outcome]++;
    this.stats.set(name, entry);
  }

  private async deliver(item: DueDelivery): Promise<Outcome> {
    const { outbox, clock } = this.deps;
    const { event, notifier: name } = item;
    const fields = { notifier: name, event: event.id, type: event.type };
    const notifier = this.deps.notifiers.get(name);
    if (!notifier) {
      outbox.failed(event.id, name, undefined, `no notifier named "${name}" in the config any more`, undefined);
      this.count(name, 'failed');
      this.log.warn(fields, 'dropped a delivery to a notifier that is no longer configured');
      return 'failed';
    }
    const signal = this.controller.signal;
    try {
      const { status } = await withRetry(() => notifier.send(event, signal), {
        retries: QUICK_RETRIES,
        clock,
        signal,
        retryable: (error): error is DeliveryError => error instanceof DeliveryError && !error.permanent,
        delayMs: (attempt) => 1_000 * 2 ** (attempt - 1),
      });
      outbox.delivered(event.id, name, status);
      this.failuresInARow.set(name, 0);
      this.count(name, 'delivered');
      this.log.debug({ ...fields, status }, 'delivered');
      return 'delivered';
    } catch (error) {
      if (signal.aborted) return 'aborted';
      // A notifier's own errors are sanitised where they are made; anything else is cleaned here.
      const failure = error instanceof DeliveryError ? error : new DeliveryError(sanitise(String(error)), undefined, false, error);
      const now = clock.now();
      const attempts = item.attempts + 1;
      const stale = now - Date.parse(event.time) >= GIVE_UP_AFTER_MS;
      if (failure.permanent || stale) {
        outbox.failed(event.id, name, failure.status, failure.message, undefined);
        this.count(name, 'failed');
        this.log.error({ ...fields, status: failure.status, attempts, detail: failure.message }, failure.permanent ? 'the receiver refused this event for good; not retried' : 'gave up on a stale event');
        return 'failed';
      }
      const retryAt = nextAttemptAt(now, attempts);
      outbox.failed(event.id, name, failure.status, failure.message, retryAt);
      this.count(name, 'retried');
      const inARow = (this.failuresInARow.get(name) ?? 0) + 1;
      this.failuresInARow.set(name, inARow);
      const down = inARow >= DOWN_AFTER_FAILURES;
      if (down) outbox.hold(name, retryAt);
      this.log.warn(
        { ...fields, status: failure.status, attempts, retryInMs: retryAt - now, detail: failure.message },
        down ? `delivery failed; ${inARow} failures in a row: holding every delivery to this notifier until the retry` : 'delivery failed; will retry',
      );
      return 'retry';
    }
  }
}
