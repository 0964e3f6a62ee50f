import { sqliteDaemonState } from './daemon-state.js';
import { fileChange, fileIdentity, openDatabase, type Db } from './db.js';
import { DeployJournal } from './deploy-journal.js';
import { MarketHistory } from './history.js';
import { DatabaseLease } from './lease.js';
import { KIND_TABLES, sqliteNamedState } from './named-state.js';
import { Outbox } from './outbox.js';
import type { EventRoute } from '../config/routing.js';
import type { DaemonState, HistoryRepository, JournalRepository, LeaseIdentity, LeaseRepository, LifecycleRepository, NamedState, OutboxRepository, SpendRepository, StateKind, StateRecords } from './repositories.js';
import { SpendLedger } from './spend.js';
import { PodLifecycle } from './pod-lifecycle.js';

/**
 * Everything the watcher keeps, as repositories: the only way into the database. Nothing outside
 * the store sees SQL or the connection, so a second engine only has to implement this.
 */
export interface Store {
  /** The path it was opened from (`:memory:` in tests). */
  path: string;
  history: HistoryRepository;
  /** The deploy journal, fenced by the lease: once taken and lost, no new deploy is journaled. */
  journal: JournalRepository;
  /** The pods followed after their deploy; their lifecycle actions are fenced by the lease like deploys. */
  lifecycle: LifecycleRepository;
  outbox: OutboxRepository;
  /** What the watcher's pods have cost, per pod, per rule and per UTC day. */
  spend: SpendRepository;
  /** The daemon's named facts (API health, spot retirement, the rules' last cycle, ...). */
  daemon: DaemonState;
  /** The state rules, resume entries or alerts keep by name, one table per kind, in the shape StateRecords gives it. */
  states<K extends StateKind>(kind: K): NamedState<StateRecords[K]>;
  /** Which process may act on this database. */
  lease: LeaseRepository;
  /** Runs `work` in one transaction: its writes, through any repository, commit together or not at all. */
  transaction<T>(work: () => T): T;
  /** What happened to the database file since it was opened (`was deleted`, `was replaced by another file`), or undefined. */
  fileChange(): string | undefined;
  close(): void;
}

/** A store opened only to read, beside a daemon that may be writing: no lease, no transactions. */
export type StoreReader = Omit<Store, 'lease' | 'transaction' | 'fileChange'>;

/**
 * Opens the store at `path` (`:memory:` for tests), migrating the schema to the current version;
 * throws a DatabaseError naming the path and the cause when it cannot be opened or written.
 * `leaseIdentity` stands in for this process as the lease holder (tests play other processes);
 * `route` is the notifiers' routing, applied as the outbox takes each event (all take all without it).
 */
export function openStore(path: string, options: { leaseIdentity?: LeaseIdentity; route?: EventRoute } = {}): Store {
  const db = openDatabase(path);
  const opened = path === ':memory:' ? undefined : fileIdentity(path);
  const lease = new DatabaseLease(db, options.leaseIdentity);
  return {
    ...repositories(db, path, lease, options.route),
    lease,
    transaction: (work) => db.transaction(work)(),
    fileChange: () => (opened ? fileChange(path, opened) : undefined),
  };
}

/**
 * Opens an existing database read-only, without migrating it or taking any lock (`status`,
 * `history` and `replay` read beside a running daemon); a database that cannot be read is a
 * DatabaseError. Each kind's state table is only looked at when asked for, so an older schema
 * reads as far as it goes.
 */
export function openStoreReader(path: string): StoreReader {
  return repositories(openDatabase(path, { readonly: true }), path);
}

function repositories(db: Db, path: string, fence?: DatabaseLease, route?: EventRoute): StoreReader {
  return {
    path,
    history: new MarketHistory(db),
    journal: new DeployJournal(db, fence),
    lifecycle: new PodLifecycle(db, fence),
    outbox: new Outbox(db, route),
    spend: new SpendLedger(db),
    daemon: sqliteDaemonState(db),
    states: <K extends StateKind>(kind: K) => sqliteNamedState<StateRecords[K]>(db, KIND_TABLES[kind]),
    close: () => db.close(),
  };
}
