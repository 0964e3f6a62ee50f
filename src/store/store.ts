import { fileChange, fileIdentity, openDatabase, type Db } from './db.js';
import { DeployJournal } from './deploy-journal.js';
import { MarketHistory } from './history.js';
import { DatabaseLease } from './lease.js';
import { Outbox } from './outbox.js';
import { WatcherState } from './watcher-state.js';

/** Everything the watcher keeps, over one SQLite database. */
export interface Store {
  db: Db;
  /** The path it was opened from (`:memory:` in tests). */
  path: string;
  history: MarketHistory;
  outbox: Outbox;
  state: WatcherState;
  /** The deploy journal, fenced by the lease: once taken and lost, no new deploy is journaled. */
  journal: DeployJournal;
  /** Which process may act on this database. */
  lease: DatabaseLease;
  /** What happened to the database file since it was opened (`was deleted`, `was replaced by another file`), or undefined. */
  fileChange(): string | undefined;
  close(): void;
}

/**
 * Opens the store at `path` (`:memory:` for tests), migrating the schema to the current version;
 * throws a DatabaseError naming the path and the cause when it cannot be opened or written.
 */
export function openStore(path: string): Store {
  const db = openDatabase(path);
  const opened = path === ':memory:' ? undefined : fileIdentity(path);
  const lease = new DatabaseLease(db);
  return {
    db,
    path,
    history: new MarketHistory(db),
    outbox: new Outbox(db),
    state: new WatcherState(db),
    journal: new DeployJournal(db, lease),
    lease,
    fileChange: () => (opened ? fileChange(path, opened) : undefined),
    close: () => db.close(),
  };
}
