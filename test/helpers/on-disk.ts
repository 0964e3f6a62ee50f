import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** A path for a fresh database file, in a folder of its own. */
export function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'gw-disk-')), 'w.db');
}

/**
 * Opens the database file at `path` on a connection of its own, runs `use` on it and closes it: to
 * check what is on disk (or, for a fault, to damage it), as a person with the sqlite3 shell would.
 * The code under test reaches the database only through the store's repositories.
 */
export function onDisk<T>(path: string, use: (db: Database.Database) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return use(db);
  } finally {
    db.close();
  }
}
