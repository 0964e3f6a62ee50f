import { utcDay, utcMonthStart } from '../lib/utc-day.js';
import type { Db } from './db.js';
import type { PodAccount, SpendRepository } from './repositories.js';

interface AccountRow {
  pod_id: string;
  rule: string;
  cost_per_hr: number;
  billed: number;
  seen_at: number;
  dollars: number;
}

const toAccount = (r: AccountRow): PodAccount => ({ podId: r.pod_id, rule: r.rule, costPerHr: r.cost_per_hr, billed: r.billed === 1, seenAt: r.seen_at, dollars: r.dollars });

/**
 * The spend ledger over SQLite (migration 7). A database from before it (read by `status` beside an
 * older daemon) has no such tables: the ledger then reads as empty rather than failing.
 */
export class SpendLedger implements SpendRepository {
  private readonly sql: ReturnType<typeof statements> | undefined;

  constructor(private readonly db: Db) {
    const present = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spend_days'").get() !== undefined;
    this.sql = present ? statements(db) : undefined;
  }

  accounts(podIds?: readonly string[]): PodAccount[] {
    if (!this.sql) return [];
    const rows = podIds === undefined ? this.sql.all.all() : this.sql.some.all(JSON.stringify(podIds));
    return rows.map(toAccount);
  }

  record(accounts: readonly PodAccount[], added: readonly { day: string; rule: string; dollars: number }[]): void {
    const sql = this.sql;
    // Only a reader opens a database without migrating it, and readers do not write.
    if (!sql) throw new Error('this database has no spend tables (migration 7): it was opened to read');
    this.db.transaction(() => {
      for (const a of accounts) sql.upsertAccount.run({ ...a, billed: a.billed ? 1 : 0 });
      for (const d of added) if (d.dollars > 0) sql.addToDay.run(d);
    })();
  }

  byRule(): { rule: string; dollars: number }[] {
    return this.sql?.byRule.all() ?? [];
  }

  total(fromDay: string, toDay: string): number {
    return this.sql?.total.get(fromDay, toDay)?.dollars ?? 0;
  }
}

function statements(db: Db) {
  return {
    all: db.prepare<[], AccountRow>('SELECT * FROM pod_spend ORDER BY pod_id'),
    some: db.prepare<[string], AccountRow>('SELECT * FROM pod_spend WHERE pod_id IN (SELECT value FROM json_each(?)) ORDER BY pod_id'),
    upsertAccount: db.prepare(
      `INSERT INTO pod_spend (pod_id, rule, cost_per_hr, billed, seen_at, dollars) VALUES ($podId, $rule, $costPerHr, $billed, $seenAt, $dollars)
       ON CONFLICT (pod_id) DO UPDATE SET rule = excluded.rule, cost_per_hr = excluded.cost_per_hr, billed = excluded.billed, seen_at = excluded.seen_at, dollars = excluded.dollars`,
    ),
    addToDay: db.prepare('INSERT INTO spend_days (day, rule, dollars) VALUES ($day, $rule, $dollars) ON CONFLICT (day, rule) DO UPDATE SET dollars = dollars + excluded.dollars'),
    byRule: db.prepare<[], { rule: string; dollars: number }>('SELECT rule, SUM(dollars) AS dollars FROM spend_days GROUP BY rule ORDER BY rule'),
    total: db.prepare<[string, string], { dollars: number | null }>('SELECT SUM(dollars) AS dollars FROM spend_days WHERE day >= ? AND day <= ?'),
  };
}

/** Dollars the watcher's pods cost so far today and this month (UTC days), as budget.maxSpend counts them. */
export function spentSoFar(spend: SpendRepository, now: number): { day: number; month: number } {
  const today = utcDay(now);
  return { day: spend.total(today, today), month: spend.total(utcMonthStart(now), today) };
}
