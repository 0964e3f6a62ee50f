import type { Db } from './db.js';
import type { NamedState, StateKind } from './repositories.js';

/** The tables that keep JSON state by name, and the column each keeps it in. */
const COLUMNS = { rule_state: 'state', resume_state: 'state', alert_state: 'state', watcher_state: 'value' } as const;

type StateTableName = keyof typeof COLUMNS;

/** Each kind's own table: a rule and a resume entry of the same name never share a row. */
export const KIND_TABLES: Record<StateKind, StateTableName> = { rule: 'rule_state', resume: 'resume_state', alert: 'alert_state' };

/** Named JSON state over one of the state tables: the one implementation, for every kind and the daemon's facts. */
export function sqliteNamedState<T>(db: Db, table: StateTableName): NamedState<T> {
  const column = COLUMNS[table];
  const select = db.prepare<[string], { state: string }>(`SELECT ${column} AS state FROM ${table} WHERE name = ?`);
  const upsert = db.prepare(
    `INSERT INTO ${table} (name, ${column}, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET ${column} = excluded.${column}, updated_at = excluded.updated_at`,
  );
  return {
    get: (name) => {
      const row = select.get(name);
      return row ? (JSON.parse(row.state) as T) : undefined;
    },
    set: (name, state, now) => void upsert.run(name, JSON.stringify(state), now),
  };
}

/** Named state in memory, seeded from another: a dry run decides on real state but keeps its changes to itself. */
export function memoryNamedState<T>(seed: NamedState<T>): NamedState<T> {
  const own = new Map<string, T>();
  return {
    get: (name) => (own.has(name) ? own.get(name) : seed.get(name)),
    set: (name, state) => void own.set(name, state),
  };
}
