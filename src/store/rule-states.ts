import type { Db } from './db.js';

/** Named JSON state for rules, resume entries and alerts, kept across restarts. */
export interface StateTable<T> {
  get(name: string): T | undefined;
  set(name: string, state: T, now: number): void;
}

/** A StateTable over `rule_state` (rules and resume entries) or `alert_state`. */
export function stateTable<T>(db: Db, table: 'rule_state' | 'alert_state'): StateTable<T> {
  const select = db.prepare<[string], { state: string }>(`SELECT state FROM ${table} WHERE name = ?`);
  const upsert = db.prepare(
    `INSERT INTO ${table} (name, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
  );
  return {
    get: (name) => {
      const row = select.get(name);
      return row ? (JSON.parse(row.state) as T) : undefined;
    },
    set: (name, state, now) => void upsert.run(name, JSON.stringify(state), now),
  };
}

/** A StateTable in memory, seeded from another: a dry run decides on real state but keeps its changes to itself. */
export function memoryStateTable<T>(seed: StateTable<T>): StateTable<T> {
  const own = new Map<string, T>();
  return {
    get: (name) => (own.has(name) ? own.get(name) : seed.get(name)),
    set: (name, state) => void own.set(name, state),
  };
}
