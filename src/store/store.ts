import { openDatabase, type Db } from './db.js';
import { DeployJournal } from './deploy-journal.js';
import { MarketHistory } from './history.js';
import { Outbox } from './outbox.js';
import { WatcherState } from './watcher-state.js';

/** Everything the watcher keeps, over one SQLite database. */
export interface Store {
  db: Db;
  history: MarketHistory;
  outbox: Outbox;
  state: WatcherState;
  journal: DeployJournal;
  close(): void;
}

/** Opens the store at `path` (`:memory:` for tests), migrating the schema to the current version. */
export function openStore(path: string): Store {
  const db = openDatabase(path);
  return {
    db,
    history: new MarketHistory(db),
    outbox: new Outbox(db),
    state: new WatcherState(db),
    journal: new DeployJournal(db),
    close: () => db.close(),
  };
}
