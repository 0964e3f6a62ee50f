import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isoTime } from '../lib/format.js';
import type { Db } from './db.js';
import { LeaseHeldError } from './errors.js';
import type { Acquired, LeaseHolder, LeaseIdentity, Renewed, TakeoverReason } from './repositories.js';
import { LEASE_ROW_ID } from './state-keys.js';

/** Two start times of one process, computed at two moments, differ by rounding only. */
const SAME_START_MS = 1_000;

/** This process as a lease holder, with a fresh token. */
export function thisProcess(): LeaseIdentity {
  return {
    host: hostname(),
    pid: process.pid,
    processStartedAt: Math.round(Date.now() - process.uptime() * 1_000),
    token: randomBytes(12).toString('hex'),
  };
}

/** The line that names a holder: `another gpu-watcher, pid N on HOST, has run on this database since T`. */
export function describeHolder(holder: LeaseHolder): string {
  return `another gpu-watcher, pid ${holder.pid} on ${holder.host}, has run on this database since ${isoTime(holder.acquiredAt)}`;
}

/** Whether a process runs with this pid here (one owned by another user counts: EPERM). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether `holder`'s lease may be taken over by `self` at `now`: its process is gone from this
 * host, or it has not renewed the lease before it expired. Another host's process cannot be looked
 * at, so only expiry frees its lease. The same pid with another start time is an earlier process
 * (a restarted container's pid 1); with the same start time it is a second holder in this process.
 */
export function takeoverReason(holder: LeaseHolder, self: LeaseIdentity, now: number): TakeoverReason | undefined {
  if (holder.host === self.host) {
    if (holder.pid === self.pid ? Math.abs(holder.processStartedAt - self.processStartedAt) > SAME_START_MS : !processExists(holder.pid)) return 'gone';
  }
  return holder.expiresAt <= now ? 'expired' : undefined;
}

interface Row {
  token: string;
  host: string;
  pid: number;
  process_started_at: number;
  acquired_at: number;
  renewed_at: number;
  expires_at: number;
}

const toHolder = (r: Row): LeaseHolder => ({
  host: r.host,
  pid: r.pid,
  processStartedAt: r.process_started_at,
  acquiredAt: r.acquired_at,
  renewedAt: r.renewed_at,
  expiresAt: r.expires_at,
});

/**
 * The database's exclusive lease: the one process that may act on it (poll, deploy, notify).
 * Taking, renewing and giving it up each run in a BEGIN IMMEDIATE transaction that reads the row
 * under the write lock, so two processes racing on one file cannot both win. Reading the holder
 * takes no write lock (a standby polls it). These calls do not wait for a lock another program
 * holds: they throw SQLITE_BUSY after the connection's short busy timeout, and the caller retries
 * without blocking the event loop (LeaseKeeper).
 */
export class DatabaseLease {
  private taken = false;
  private readonly sql;

  constructor(
    private readonly db: Db,
    readonly identity: LeaseIdentity = thisProcess(),
  ) {
    const get = db.prepare<[number], Row>('SELECT * FROM lease WHERE id = ?');
    const put = db.prepare(
      `INSERT OR REPLACE INTO lease (id, token, host, pid, process_started_at, acquired_at, renewed_at, expires_at)
       VALUES ($id, $token, $host, $pid, $processStartedAt, $now, $now, $expiresAt)`,
    );
    const renew = db.prepare('UPDATE lease SET renewed_at = $now, expires_at = $expiresAt WHERE id = $id AND token = $token');
    const release = db.prepare('DELETE FROM lease WHERE id = ? AND token = ?');
    const id = LEASE_ROW_ID;
    this.sql = {
      get: () => get.get(id),
      put: (fields: LeaseIdentity & { now: number; expiresAt: number }) => put.run({ ...fields, id }),
      renew: (fields: { token: string; now: number; expiresAt: number }) => renew.run({ ...fields, id }),
      release: (token: string) => release.run(id, token),
    };
  }

  /** The current holder, this process included; undefined when nobody holds the lease. */
  holder(): LeaseHolder | undefined {
    const row = this.sql.get();
    return row ? toHolder(row) : undefined;
  }

  /** Takes the lease when nobody holds it, this process does, or its holder may be taken over. */
  tryAcquire(now: number, ttlMs: number): Acquired {
    return this.db
      .transaction((): Acquired => {
        const row = this.sql.get();
        const holder = row && row.token !== this.identity.token ? toHolder(row) : undefined;
        const reason = holder && takeoverReason(holder, this.identity, now);
        if (holder && !reason) return { acquired: false, holder };
        this.sql.put({ ...this.identity, now, expiresAt: now + ttlMs });
        this.taken = true;
        return holder && reason ? { acquired: true, tookOver: { holder, reason } } : { acquired: true };
      })
      .immediate();
  }

  /**
   * Extends the lease this process holds. Another holder means it was taken over (this process
   * was suspended past the expiry, say): `held: false`. An empty row means nobody acted since,
   * so the lease is simply taken again.
   */
  renew(now: number, ttlMs: number): Renewed {
    return this.db
      .transaction((): Renewed => {
        const row = this.sql.get();
        if (row && row.token !== this.identity.token) return { held: false, holder: toHolder(row) };
        if (row) this.sql.renew({ token: this.identity.token, now, expiresAt: now + ttlMs });
        else this.sql.put({ ...this.identity, now, expiresAt: now + ttlMs });
        return { held: true };
      })
      .immediate();
  }

  /**
   * Throws LeaseHeldError once this process has taken the lease and no longer holds it (taken
   * over, or released). Called inside the transaction of a write that must never happen without
   * the lease, such as a deploy's journal entry; a store that never took the lease (tests, tools)
   * is not fenced.
   */
  assertHeld(): void {
    if (!this.taken) return;
    const row = this.sql.get();
    if (row?.token === this.identity.token) return;
    throw new LeaseHeldError(row ? `this gpu-watcher lost the database's lease: ${describeHolder(toHolder(row))}` : 'this gpu-watcher no longer holds the database lease');
  }

  /** Gives the lease up, if this process still holds it. */
  release(): void {
    this.db.transaction(() => this.sql.release(this.identity.token)).immediate();
  }
}
