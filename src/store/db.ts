import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseError, isBusy } from './errors.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * Whether the database has table `name`. A reader (`history` beside an older daemon) may open a
 * database from before the migration that made it: it then has nothing of that table to read,
 * rather than failing to open.
 */
export function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * How long a write of the running daemon waits, synchronously, for a lock another program holds.
 * better-sqlite3 waits on the event loop, so this is how long `/healthz` can go unanswered: it is
 * kept short, and the cycle waits for the lock asynchronously before it starts instead (the lease
 * keeper); a write that still meets a lock fails whole and the cycle is given up.
 */
const DAEMON_BUSY_TIMEOUT_MS = 25;
/** Opening and migrating happen before anything else runs, so they may wait longer. */
const OPEN_BUSY_TIMEOUT_MS = 5_000;

/** The file behind a path, to notice a database deleted or replaced under a running daemon. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * Opens (creating when needed) the watcher's SQLite database and brings its schema up to date, or
 * throws a DatabaseError naming the path and the cause (a folder that is not writable, a path that
 * is a directory, a file that is not SQLite, a read-only file). Writable connections end with a
 * short busy timeout (DAEMON_BUSY_TIMEOUT_MS).
 *
 * WAL lets `history` and `status` read while the daemon writes. synchronous=NORMAL: in WAL mode a
 * commit survives a crash or kill -9 of the process (the crash tests prove it) and the database is
 * always consistent; only a power cut can lose the last commits. FULL would close that too, at an
 * fsync per commit, which sits between stock appearing and the deploy being sent (the journal write
 * comes first) and measured 0.3 ms at the median and several ms at p99 here. A pod the journal lost
 * that way still carries GPU_WATCHER_RULE, so its rule counts it and does not deploy again.
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  const memory = path === ':memory:';
  const readonly = options.readonly ?? false;
  if (!memory && !readonly) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new DatabaseError(path, `cannot create its folder: ${(error as Error).message}`, { cause: error });
    }
  }
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
    db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    if (readonly) {
      db.pragma('user_version');
      return db;
    }
    if (!memory) enterWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    db.pragma(`busy_timeout = ${DAEMON_BUSY_TIMEOUT_MS}`);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError(path, `cannot be opened${readonly ? '' : ' or written'}: ${diagnose(path, error)}`, { cause: error });
  }
}

/**
 * Applies the migrations newer than `user_version`, all in one write transaction. The version is
 * read inside it (BEGIN IMMEDIATE), so of two processes opening a fresh file together one migrates
 * and the other then finds nothing to do. The version is written back even when unchanged: that
 * write is what tells a read-only file at start rather than at the first poll.
 */
function migrate(db: Db): void {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > latest) throw new DatabaseError(db.name, `it is from a newer gpu-watcher (schema ${current}, this one knows ${latest})`);
    for (const m of MIGRATIONS) if (m.version > current) db.exec(m.sql);
    db.pragma(`user_version = ${Math.max(current, latest)}`);
  }).immediate();
}

/**
 * Switches a database to WAL. The switch needs an exclusive lock, and SQLite answers SQLITE_BUSY at
 * once, without its busy handler, when another process opening the same fresh file at the same
 * moment holds a shared one (waiting could deadlock the two): so it is retried here for a while.
 * It blocks, which is fine: a store is opened before anything else runs.
 */
function enterWal(db: Db): void {
  const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/** The device and inode now at `path`, or undefined when nothing is there. */
export function fileIdentity(path: string): FileIdentity | undefined {
  const stats = statOrUndefined(path);
  return stats ? { dev: stats.dev, ino: stats.ino } : undefined;
}

/** What happened to the file opened as `opened`: `was deleted`, `was replaced by another file`, or undefined when it is still there. */
export function fileChange(path: string, opened: FileIdentity): string | undefined {
  const now = fileIdentity(path);
  if (!now) return 'was deleted';
  return now.dev === opened.dev && now.ino === opened.ino ? undefined : 'was replaced by another file';
}

/** SQLite's terse error, with what is wrong with the path in words a person can act on. */
function diagnose(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const detail = `${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`;
  const stats = statOrUndefined(path);
  const folder = dirname(path);
  if (stats?.isDirectory()) return `the path is a directory, not a database file (${detail})`;
  if (code === 'SQLITE_NOTADB') return `the file is not a SQLite database (${detail})`;
  if (code === 'SQLITE_CORRUPT') return `the database file is corrupt (${detail})`;
  if (isBusy(error)) return `another program holds a lock on it (${detail})`;
  if (stats && !writable(path)) return `the file is read-only (${detail})`;
  if (!writable(folder)) return `its folder ${folder} is not writable, and SQLite keeps its -wal and -shm files there (${detail})`;
  return detail;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
