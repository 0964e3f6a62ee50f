/**
 * The database cannot be opened, written or trusted any more: its path and the cause, in one line.
 * The CLI exits 73 (EX_CANTCREAT from sysexits.h) on it.
 */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';

  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`database ${path}: ${reason}`, options);
  }
}

/**
 * Another gpu-watcher holds this database's lease (at start, or it took the lease over while this
 * one ran). The CLI exits 75 (EX_TEMPFAIL: try again once that one has stopped) on it.
 */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
}

/** SQLite's answer when another connection holds the lock it needs (SQLITE_BUSY and its variants). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED');
}
