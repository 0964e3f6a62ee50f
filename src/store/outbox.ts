import type { WatcherEvent } from '../watcher/events.js';
import type { Db } from './db.js';

/**
 * The event outbox: an event is written here, with one pending delivery per notifier, before
 * anyone is told, so a crash or a failing receiver loses nothing.
 */
export class Outbox {
  private readonly insertEvent;
  private readonly insertDelivery;
  private readonly selectRecent;

  constructor(private readonly db: Db) {
    this.insertEvent = db.prepare('INSERT INTO events (id, type, time, dry_run, body) VALUES (?, ?, ?, ?, ?)');
    this.insertDelivery = db.prepare("INSERT INTO deliveries (event_id, notifier, status, next_attempt_at) VALUES (?, ?, 'pending', ?)");
    this.selectRecent = db.prepare<[number], { body: string }>('SELECT body FROM events ORDER BY time DESC, rowid DESC LIMIT ?');
  }

  /** Stores an event and a pending delivery to each named notifier, atomically. */
  append(event: WatcherEvent, notifiers: readonly string[]): void {
    const time = Date.parse(event.time);
    this.db.transaction(() => {
      this.insertEvent.run(event.id, event.type, time, event.dryRun ? 1 : 0, JSON.stringify(event));
      for (const name of notifiers) this.insertDelivery.run(event.id, name, time);
    })();
  }

  /** The latest events, newest first. */
  recent(limit: number): WatcherEvent[] {
    return this.selectRecent.all(limit).map((row) => JSON.parse(row.body) as WatcherEvent);
  }
}
