import { sanitise } from '../lib/sanitise.js';
import type { WatcherEvent } from '../events/event.js';
import type { EventRoute } from '../config/routing.js';
import type { Db } from './db.js';

/** One (event, notifier) pair waiting to be delivered. */
export interface DueDelivery {
  event: WatcherEvent;
  notifier: string;
  attempts: number;
}

/** Counts of deliveries by state, for status and metrics. */
export interface OutboxDepth {
  pending: number;
  failed: number;
}

/** A delivery not (yet) made: pending (due at its event's time at the earliest) or given up. */
export interface UndeliveredDelivery {
  type: string;
  time: number;
  notifier: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number;
}

/**
 * The event outbox: an event is written here, with one pending delivery per notifier, before
 * anyone is told, so a crash or a failing receiver loses nothing. The dispatcher takes due
 * deliveries from here and records how each ended. A new delivery is due at once (next attempt 0),
 * not at its event's time: an event stamped ahead of the clock (the wall clock stepped back) would
 * otherwise wait unseen until the clock caught up.
 */
export class Outbox {
  private readonly sql;
  private readonly listeners: (() => void)[] = [];

  /** `route` picks which of the named notifiers take each event (their `events` and `minSeverity`); without it, all do. */
  constructor(
    private readonly db: Db,
    private route: EventRoute = () => true,
  ) {
    this.sql = {
      insertEvent: db.prepare('INSERT INTO events (id, type, time, dry_run, body) VALUES (?, ?, ?, ?, ?)'),
      insertDelivery: db.prepare("INSERT INTO deliveries (event_id, notifier, status, next_attempt_at) VALUES (?, ?, 'pending', 0)"),
      recent: db.prepare<[number], { body: string }>('SELECT body FROM events ORDER BY time DESC, rowid DESC LIMIT ?'),
      due: db.prepare<[string, number, number], { body: string; notifier: string; attempts: number }>(
        `SELECT e.body, d.notifier, d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status = 'pending' AND d.notifier = ? AND d.next_attempt_at <= ?
         ORDER BY e.time, e.rowid LIMIT ?`,
      ),
      nextDue: db.prepare<[], { at: number | null }>("SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'"),
      nextDueByNotifier: db.prepare<[], { notifier: string; at: number }>("SELECT notifier, min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending' GROUP BY notifier"),
      hold: db.prepare("UPDATE deliveries SET next_attempt_at = max(next_attempt_at, ?) WHERE notifier = ? AND status = 'pending'"),
      settle: db.prepare(
        'UPDATE deliveries SET status = $status, attempts = attempts + 1, next_attempt_at = $next, last_status = $httpStatus, last_error = $error WHERE event_id = $event AND notifier = $notifier',
      ),
      // An event whose deliveries are all settled (delivered or given up), or that had none; its deliveries go with it (ON DELETE CASCADE).
      prune: db.prepare<[number, number]>(
        `DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.time < ?
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending') LIMIT ?)`,
      ),
      depth: db.prepare<[], { pending: number; failed: number }>(
        "SELECT coalesce(sum(status = 'pending'), 0) AS pending, coalesce(sum(status = 'failed'), 0) AS failed FROM deliveries",
      ),
      undelivered: db.prepare<[number], { type: string; time: number; notifier: string; status: string; attempts: number; last_error: string | null; next_attempt_at: number }>(
        `SELECT e.type, e.time, d.notifier, d.status, d.attempts, d.last_error, max(d.next_attempt_at, e.time) AS next_attempt_at FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status != 'delivered' ORDER BY e.time DESC LIMIT ?`,
      ),
    };
  }

  /** Takes a reloaded config's routing: events appended from now on are routed by it. */
  reroute(route: EventRoute): void {
    this.route = route;
  }

  /**
   * Stores an event and a pending delivery to each named notifier whose route takes it, atomically.
   * The event is kept even when no notifier takes it: status and `/api/status` still show it.
   */
  append(event: WatcherEvent, notifiers: readonly string[]): void {
    const time = Date.parse(event.time);
    const takers = notifiers.filter((name) => this.route(name, event.type));
    this.db.transaction(() => {
      this.sql.insertEvent.run(event.id, event.type, time, event.dryRun ? 1 : 0, JSON.stringify(event));
      for (const name of takers) this.sql.insertDelivery.run(event.id, name);
    })();
    if (takers.length > 0) for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after each append that has deliveries (the dispatcher wakes on it). */
  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Deletes up to `limit` events older than `cutoff` with no delivery still pending, and their deliveries; returns how many events. */
  prune(cutoff: number, limit: number): number {
    return this.sql.prune.run(cutoff, limit).changes;
  }

  /** The latest events, newest first. */
  recent(limit: number): WatcherEvent[] {
    return this.sql.recent.all(limit).map((row) => JSON.parse(row.body) as WatcherEvent);
  }

  /** Each notifier with pending deliveries, and when the first of them falls due. */
  nextDueByNotifier(): { notifier: string; at: number }[] {
    return this.sql.nextDueByNotifier.all();
  }

  /** Holds every pending delivery to `notifier` until `until` at least: its receiver is down. */
  hold(notifier: string, until: number): void {
    this.sql.hold.run(until, notifier);
  }

  /** A notifier's deliveries due at `now`, oldest event first. */
  due(notifier: string, now: number, limit: number): DueDelivery[] {
    return this.sql.due.all(notifier, now, limit).map((r) => ({ event: JSON.parse(r.body) as WatcherEvent, notifier: r.notifier, attempts: r.attempts }));
  }

  /** When the next pending delivery falls due, if any is pending. */
  nextDueAt(): number | undefined {
    return this.sql.nextDue.get()?.at ?? undefined;
  }

  /** Records a delivery the receiver accepted. */
  delivered(eventId: string, notifier: string, httpStatus: number): void {
    this.sql.settle.run({ status: 'delivered', next: 0, httpStatus, error: null, event: eventId, notifier });
  }

  /**
   * Records a failed attempt: tried again at `retryAt`, or given up for good when it is undefined.
   * The error is sanitised once more here (credential shapes, length), whoever built it.
   */
  failed(eventId: string, notifier: string, httpStatus: number | undefined, error: string, retryAt: number | undefined): void {
    this.sql.settle.run({ status: retryAt === undefined ? 'failed' : 'pending', next: retryAt ?? 0, httpStatus: httpStatus ?? null, error: sanitise(error), event: eventId, notifier });
  }

  /** The newest deliveries not (yet) made: pending ones (due at their event's time at the earliest) and those given up. */
  undelivered(limit: number): UndeliveredDelivery[] {
    return this.sql.undelivered.all(limit).map((r) => ({ type: r.type, time: r.time, notifier: r.notifier, status: r.status, attempts: r.attempts, lastError: r.last_error, nextAttemptAt: r.next_attempt_at }));
  }

  /** How many deliveries are pending and how many were given up. */
  depth(): OutboxDepth {
    return this.sql.depth.get() ?? { pending: 0, failed: 0 };
  }
}
