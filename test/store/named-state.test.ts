import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { memoryNamedState } from '../../src/store/named-state.js';
import { FACT_KEYS } from '../../src/store/state-keys.js';
import { openStore, openStoreReader } from '../../src/store/store.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const RULE_STATE = { retryUntil: { 'NVIDIA RTX A6000': T0 + 60_000 }, exhausted: null, budgetTold: false, blocked: null };
const RESUME_STATE = { retryUntil: T0 + 300_000, missingTold: true, budgetTold: false };

/** A database as the previous release left it (schema 2), where rules and resume entries shared rule_state. */
function schemaTwoDatabase(rows: [name: string, state: object][]): string {
  const path = tempDbPath();
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(m.sql);
  db.pragma('user_version = 2');
  const insert = db.prepare('INSERT INTO rule_state (name, state, updated_at) VALUES (?, ?, ?)');
  for (const [name, state] of rows) insert.run(name, JSON.stringify(state), T0);
  db.close();
  return path;
}

describe('named state', () => {
  it('keeps a rule and a resume entry of the same name apart', () => {
    const store = openStore(':memory:');
    store.states('rule').set('gpu-box', RULE_STATE, T0);
    store.states('resume').set('gpu-box', RESUME_STATE, T0);
    expect(store.states('rule').get('gpu-box')).toEqual(RULE_STATE);
    expect(store.states('resume').get('gpu-box')).toEqual(RESUME_STATE);
    expect(store.states('alert').get('gpu-box')).toBeUndefined();
  });

  it('migration 3 moves resume entries out of rule_state into resume_state, and leaves the rules', () => {
    const path = schemaTwoDatabase([
      ['trainer', RULE_STATE],
      ['restart-box', RESUME_STATE],
    ]);
    const store = openStore(path);
    expect(store.states('rule').get('trainer')).toEqual(RULE_STATE);
    expect(store.states('rule').get('restart-box')).toBeUndefined();
    expect(store.states('resume').get('restart-box')).toEqual(RESUME_STATE);
    expect(store.states('resume').get('trainer')).toBeUndefined();
    store.close();
    expect(onDisk(path, (db) => db.pragma('user_version', { simple: true }))).toBe(MIGRATIONS.length);
  });

  it('a reader opens an older schema as it is, without migrating it', () => {
    const path = schemaTwoDatabase([['trainer', RULE_STATE]]);
    const reader = openStoreReader(path);
    expect(reader.states('rule').get('trainer')).toEqual(RULE_STATE);
    expect(reader.journal.succeededCount('trainer')).toBe(0);
    reader.close();
    expect(onDisk(path, (db) => db.pragma('user_version', { simple: true }))).toBe(2);
  });

  it('a dry run reads the real state and keeps its own changes in memory', () => {
    const store = openStore(':memory:');
    store.states('rule').set('trainer', RULE_STATE, T0);
    const dry = memoryNamedState(store.states('rule'));
    expect(dry.get('trainer')).toEqual(RULE_STATE);
    dry.set('trainer', { ...RULE_STATE, budgetTold: true }, T0);
    expect(dry.get('trainer')?.budgetTold).toBe(true);
    expect(store.states('rule').get('trainer')).toEqual(RULE_STATE);
  });

  it('keeps the daemon facts across a restart, each under its key', () => {
    const path = tempDbPath();
    const first = openStore(path);
    first.daemon.apiHealth.set({ failures: 3, downSince: T0 }, T0);
    first.daemon.spotRetired.set({ detail: 'gone', at: T0, checkedAt: T0 }, T0);
    first.daemon.resumeKeys.set([{ gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' }], T0);
    first.close();

    const second = openStore(path);
    expect(second.daemon.apiHealth.get()).toEqual({ failures: 3, downSince: T0 });
    expect(second.daemon.spotRetired.get()).toEqual({ detail: 'gone', at: T0, checkedAt: T0 });
    expect(second.daemon.resumeKeys.get()).toEqual([{ gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' }]);
    expect(second.daemon.apiRetired.get()).toBeUndefined();
    second.close();
    const names = onDisk(path, (db) => db.prepare('SELECT name FROM watcher_state ORDER BY name').all());
    expect(names).toEqual([FACT_KEYS.apiHealth, FACT_KEYS.resumeKeys, FACT_KEYS.spotRetired].sort().map((name) => ({ name })));
  });
});
