import type { Db } from './db.js';

/** Small named facts kept across restarts, as JSON (e.g. whether RunPod was last seen down). */
export class WatcherState {
  private readonly select;
  private readonly upsert;

  constructor(db: Db) {
    this.select = db.prepare<[string], { value: string }>('SELECT value FROM watcher_state WHERE name = ?');
    this.upsert = db.prepare(
      'INSERT INTO watcher_state (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
  }

  get<T>(name: string): T | undefined {
    const row = this.select.get(name);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  set(name: string, value: unknown, now: number): void {
    this.upsert.run(name, JSON.stringify(value), now);
  }
}
