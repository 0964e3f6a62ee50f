import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseHeldError } from '../../src/store/errors.js';
import { describeHolder, thisProcess } from '../../src/store/lease.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import type { LeaseIdentity } from '../../src/store/repositories.js';
import { openStore, type Store } from '../../src/store/store.js';
import { exited, spawnTs } from '../helpers/child.js';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const TTL = 30_000;
let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-lease-'));
  path = join(dir, 'w.db');
});

/** Another holder: a second connection to the same file, as another process would have. */
function other(identity: Partial<LeaseIdentity>): { store: Store; lease: Store['lease'] } {
  const store = openStore(path, { leaseIdentity: { ...thisProcess(), ...identity } });
  return { store, lease: store.lease };
}

/** The pid of a process that has just exited (and been reaped), so none runs with it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid ?? -1;
}

describe('the database lease', () => {
  it('is taken by the first, and a second is told who holds it and since when', () => {
    const a = openStore(path);
    expect(a.lease.tryAcquire(T0, TTL)).toEqual({ acquired: true });
    const b = other({ host: 'box-b', pid: 4242 });
    const answer = b.lease.tryAcquire(T0 + 1_000, TTL);
    expect(answer).toMatchObject({ acquired: false, holder: { host: hostname(), pid: process.pid, acquiredAt: T0, expiresAt: T0 + TTL } });
    if (answer.acquired) throw new Error('unreachable');
    expect(describeHolder(answer.holder)).toBe(`another gpu-watcher, pid ${process.pid} on ${hostname()}, has run on this database since 2026-11-29T10:00:00.000Z`);
  });

  it('is taken over at once when its holder on this host is gone', async () => {
    const pid = await deadPid();
    const gone = other({ host: hostname(), pid });
    expect(gone.lease.tryAcquire(T0, TTL)).toEqual({ acquired: true });
    const a = openStore(path);
    expect(a.lease.tryAcquire(T0 + 1_000, TTL)).toMatchObject({ acquired: true, tookOver: { reason: 'gone', holder: { pid, host: hostname() } } });
    expect(a.lease.holder()).toMatchObject({ pid: process.pid, acquiredAt: T0 + 1_000 });
  });

  it('is not taken over while its holder on this host runs, nor from another host before it expires; after that it is', () => {
    const alive = other({ host: hostname(), pid: process.ppid });
    alive.lease.tryAcquire(T0, TTL);
    const a = openStore(path);
    expect(a.lease.tryAcquire(T0 + TTL - 1, TTL)).toMatchObject({ acquired: false, holder: { pid: process.ppid } });
    alive.lease.release();

    const remote = other({ host: 'another-host', pid: 1 });
    remote.lease.tryAcquire(T0, TTL);
    expect(a.lease.tryAcquire(T0 + TTL - 1, TTL)).toMatchObject({ acquired: false, holder: { host: 'another-host' } });
    expect(a.lease.tryAcquire(T0 + TTL, TTL)).toMatchObject({ acquired: true, tookOver: { reason: 'expired', holder: { host: 'another-host' } } });
  });

  it('tells an earlier process with this pid (a restarted container) from a second holder in this process', () => {
    const self = thisProcess();
    const earlier = other({ ...self, processStartedAt: self.processStartedAt - 60_000 });
    earlier.lease.tryAcquire(T0, TTL);
    const a = openStore(path);
    expect(a.lease.tryAcquire(T0 + 1, TTL)).toMatchObject({ acquired: true, tookOver: { reason: 'gone' } });
    const sibling = other({ ...self, token: 'another-holder-in-this-process' });
    expect(sibling.lease.tryAcquire(T0 + 2, TTL)).toMatchObject({ acquired: false });
  });

  it('renews while held; a renewal after a takeover says who holds it now', () => {
    const a = openStore(path);
    a.lease.tryAcquire(T0, TTL);
    expect(a.lease.renew(T0 + 10_000, TTL)).toEqual({ held: true });
    expect(a.lease.holder()).toMatchObject({ acquiredAt: T0, renewedAt: T0 + 10_000, expiresAt: T0 + 10_000 + TTL });

    const b = other({ host: 'box-b', pid: 4242 });
    expect(b.lease.tryAcquire(T0 + 10_000 + TTL, TTL)).toMatchObject({ acquired: true, tookOver: { reason: 'expired' } });
    expect(a.lease.renew(T0 + 10_000 + TTL + 1, TTL)).toMatchObject({ held: false, holder: { host: 'box-b', pid: 4242 } });
  });

  it('gives up only its own lease on release', () => {
    const a = openStore(path);
    const b = other({ host: 'box-b', pid: 4242 });
    b.lease.tryAcquire(T0, TTL);
    a.lease.release();
    expect(a.lease.holder()).toMatchObject({ host: 'box-b' });
    b.lease.release();
    expect(a.lease.holder()).toBeUndefined();
  });

  it('fences the deploy journal: once taken over, a new deploy entry is refused and nothing is written', () => {
    const a = openStore(path);
    a.lease.tryAcquire(T0, TTL);
    const entry = (id: string) => ({ id, rule: 'r', gpuTypeId: 'G', gpuCount: 1, cloud: 'SECURE', kind: 'on-demand' as const, price: 0.5, dryRun: false, createdAt: T0 });
    a.journal.begin(entry('dep_1'));
    const b = other({ host: 'box-b', pid: 4242 });
    b.lease.tryAcquire(T0 + TTL, TTL);
    expect(() => a.journal.begin(entry('dep_2'))).toThrow(LeaseHeldError);
    expect(() => a.journal.begin(entry('dep_2'))).toThrow('lost the database\'s lease: another gpu-watcher, pid 4242 on box-b');
    expect(b.store.journal.recent(10).map((d) => d.id)).toEqual(['dep_1']);
  });

  it('does not fence a store that never took the lease (tests, tools)', () => {
    const a = openStore(path);
    other({ host: 'box-b', pid: 4242 }).lease.tryAcquire(T0, TTL);
    a.journal.begin({ id: 'dep_1', rule: 'r', gpuTypeId: 'G', gpuCount: 1, cloud: 'SECURE', kind: 'on-demand', price: 0.5, dryRun: false, createdAt: T0 });
    expect(a.journal.recent(1)).toHaveLength(1);
  });
});

describe('migrations', () => {
  it('run once when several processes open the same fresh files at the same instant', async () => {
    const paths = Array.from({ length: 12 }, (_, i) => join(dir, `fresh-${i}.db`));
    const at = String(Date.now() + 3_000);
    const children = Array.from({ length: 4 }, () => spawnTs('test/fixtures/open-store.ts', [at, ...paths]));
    const codes = await Promise.all(children.map(exited));
    const lines = children.flatMap((c) => c.output().trim().split('\n'));
    expect(lines.filter((l) => l !== 'opened')).toEqual([]);
    expect(lines).toHaveLength(4 * paths.length);
    expect(codes).toEqual([0, 0, 0, 0]);
    for (const p of paths) {
      const db = new Database(p, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      db.close();
    }
  }, 60_000);
});
