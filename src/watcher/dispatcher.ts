import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { withRetry } from '../lib/retry.js';
import { DeliveryError, type Notifier } from '../notifiers/types.js';
import type { DueDelivery, Outbox } from '../store/outbox.js';

/** Quick retries inside one attempt (1 s, then 2 s), before the delivery is put back in the outbox. */
const QUICK_RETRIES = 2;
/** Back-off between attempts kept in the outbox: 30 s, doubling, at most an hour. */
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 3_600_000;
/** An event still undelivered this long after it happened is given up (and logged): it is stale. */
export const GIVE_UP_AFTER_MS = 72 * 3_600_000;
const BATCH = 50;
const IDLE_MS = 60_000;
/**
 * The pause after a round that failed (the database locked by another program, say): without it the
 * loop would go straight back to the delivery whose outcome it could not record, and send it again.
 */
const FAILED_ROUND_PAUSE_MS = 5_000;

/** Delivery counts per notifier since start, for status and metrics. */
export type DeliveryStats = Map<string, { delivered: number; retried: number; failed: number }>;

/** When a delivery that failed for the `attempts`-th time is tried again. */
export function nextAttemptAt(now: number, attempts: number): number {
  return now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * Delivers the outbox: each (event, notifier) pair in event order per notifier, notifiers side by
 * side so a slow receiver holds up only itself. A failure is retried quickly a couple of times,
 * then put back with a growing back-off that survives restarts; a permanent refusal (4xx other
 * than 408/429) is recorded and not retried. It runs beside the poll loop and never inside it.
 */
export class Dispatcher {
  readonly stats: DeliveryStats = new Map();
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly deps: { outbox: Outbox; notifiers: ReadonlyMap<string, Notifier>; clock: Clock; logger: Logger },
  ) {
    this.log = deps.logger.child({ component: 'notify' });
    deps.outbox.onAppend(() => this.wake());
  }

  /** Delivers everything due now; resolves when each due delivery is settled. */
  async deliverDue(): Promise<void> {
    const names = this.deps.outbox.notifiersDue(this.deps.clock.now());
    await Promise.all(names.map((name) => this.drain(name)));
  }

  /** Runs deliveries until `stop()`: whatever is due, then sleeps until the next is due or an event arrives. */
  start(): void {
    this.loop ??= (async () => {
      while (!this.controller.signal.aborted) {
        let failed = false;
        try {
          await this.deliverDue();
        } catch (error) {
          if (this.controller.signal.aborted) break;
          failed = true;
          this.log.error({ err: error }, `delivery round failed; trying again in ${FAILED_ROUND_PAUSE_MS / 1_000} s`);
        }
        const next = this.deps.outbox.nextDueAt();
        const due = next === undefined ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - this.deps.clock.now()));
        const wait = failed ? Math.max(due, FAILED_ROUND_PAUSE_MS) : due;
        await this.sleep(wait);
      }
    })();
  }

  /** Cuts the current wait short: new events are delivered at once. */
  wake(): void {
    this.wakeSleeper?.();
  }

  /** Stops the loop, aborting deliveries in flight (they stay pending and go out after a restart). */
  async stop(): Promise<void> {
    this.controller.abort(new Error('dispatcher stopping'));
    this.wake();
    await this.loop;
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    const cut = new AbortController();
    this.wakeSleeper = () => cut.abort();
    const onStop = (): void => cut.abort();
    this.controller.signal.addEventListener('abort', onStop, { once: true });
    await this.deps.clock.sleep(ms, cut.signal).catch(() => undefined);
    this.controller.signal.removeEventListener('abort', onStop);
    this.wakeSleeper = undefined;
  }

  private async drain(name: string): Promise<void> {
    for (;;) {
      const batch = this.deps.outbox.due(name, this.deps.clock.now(), BATCH);
      for (const item of batch) {
        if (this.controller.signal.aborted) return;
        await this.deliver(item);
      }
      if (batch.length < BATCH) return;
    }
  }

  private count(name: string, outcome: 'delivered' | 'retried' | 'failed'): void {
    const entry = this.stats.get(name) ?? { delivered: 0, retried: 0, failed: 0 };
    entry[outcome]++;
    this.stats.set(name, entry);
  }

  private async deliver(item: DueDelivery): Promise<void> {
    const { outbox, clock } = this.deps;
    const { event, notifier: name } = item;
    const fields = { notifier: name, event: event.id, type: event.type };
    const notifier = this.deps.notifiers.get(name);
    if (!notifier) {
      outbox.failed(event.id, name, undefined, `no notifier named "${name}" in the config any more`, undefined);
      this.count(name, 'failed');
      this.log.warn(fields, 'dropped a delivery to a notifier that is no longer configured');
      return;
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
      this.count(name, 'delivered');
      this.log.debug({ ...fields, status }, 'delivered');
    } catch (error) {
      if (signal.aborted) return;
      const failure = error instanceof DeliveryError ? error : new DeliveryError(String(error), undefined, false);
      const now = clock.now();
      const attempts = item.attempts + 1;
      const stale = now - Date.parse(event.time) >= GIVE_UP_AFTER_MS;
      if (failure.permanent || stale) {
        outbox.failed(event.id, name, failure.status, failure.message, undefined);
        this.count(name, 'failed');
        this.log.error({ ...fields, status: failure.status, attempts, detail: failure.message }, failure.permanent ? 'the receiver refused this event for good; not retried' : 'gave up on a stale event');
      } else {
        const retryAt = nextAttemptAt(now, attempts);
        outbox.failed(event.id, name, failure.status, failure.message, retryAt);
        this.count(name, 'retried');
        this.log.warn({ ...fields, status: failure.status, attempts, retryInMs: retryAt - now, detail: failure.message }, 'delivery failed; will retry');
      }
    }
  }
}
