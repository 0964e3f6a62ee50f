import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStoreReader } from '../../src/store/store.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';

/** A database as an older daemon left it: migrated only up to `version`. */
function databaseAt(version: number): string {
  const path = tempDbPath();
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) db.exec(m.sql);
  db.pragma(`user_version = ${version}`);
  db.close();
  return path;
}

describe('a reader beside an older daemon', () => {
  it('reads a database from before spend and pod lifecycle (migrations 7 and 8) as having none, and leaves it as it is', () => {
    const path = databaseAt(6);
    const reader = openStoreReader(path);
    expect(reader.spend.accounts()).toEqual([]);
    expect(reader.lifecycle.open()).toEqual([]);
    reader.close();
    expect(onDisk(path, (db) => db.pragma('user_version', { simple: true }))).toBe(6);
  });
});
